from servicekit.settings import ServiceSettings

DEV_NIK_KEY = "dev-nik-hash-key-not-for-production"


class EnrollmentSettings(ServiceSettings):
    nik_hash_key: str = DEV_NIK_KEY
    bulk_max_learners: int = 200_000
    # a job whose worker stops renewing its lease (a killed process) is resumed after this
    job_lease_seconds: float = 60.0
    # rows an import job registers per transaction
    import_chunk_rows: int = 200
    import_max_rows: int = 5000
    # the cap on an uploaded file, counted while it streams in
    import_max_bytes: int = 5_000_000
    certificate_verify_url: str = "http://127.0.0.1:8001/v1/certificates/{code}"

    def model_post_init(self, __context: object) -> None:
        if self.environment == "prod" and self.nik_hash_key == DEV_NIK_KEY:
            raise ValueError("NIK_HASH_KEY must be set to a secret in production")
