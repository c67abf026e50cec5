"""The webhook bridge's domain: endpoints, their secrets, the retry policy and the address
rules, in plain Python."""
