"""Assessment service: question banks, pre-tests, post-tests and quizzes, attempts and grades."""
