from servicekit.settings import ServiceSettings

DEV_NIK_KEY = "dev-nik-hash-key-not-for-production"


class EnrollmentSettings(ServiceSettings):
    nik_hash_key: str = DEV_NIK_KEY
    bulk_max_learners: int = 200_000

    def model_post_init(self, __context: object) -> None:
        if self.environment == "prod" and self.nik_hash_key == DEV_NIK_KEY:
            raise ValueError("NIK_HASH_KEY must be set to a secret in production")
