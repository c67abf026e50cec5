from servicekit.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    active_days: int = 14
    consumer_batch_size: int = 2000
