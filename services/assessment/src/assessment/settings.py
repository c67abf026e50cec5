from datetime import timedelta

from pydantic import Field

from servicekit.settings import ServiceSettings


class AssessmentSettings(ServiceSettings):
    # a submission this late after the time limit is still graded (slow village networks)
    submit_grace_seconds: float = Field(default=30.0, ge=0, le=600)
    # how often abandoned attempts past their time limit are closed as zero
    expiry_sweep_seconds: float = Field(default=30.0, gt=0)
    run_expiry_sweeper: bool = True

    @property
    def submit_grace(self) -> timedelta:
        return timedelta(seconds=self.submit_grace_seconds)
