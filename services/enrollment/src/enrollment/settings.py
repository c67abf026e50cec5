from pathlib import Path

from servicekit.settings import ServiceSettings

DEV_NIK_KEY = "dev-nik-hash-key-not-for-production"
EXAMPLE_SIGNATORY = "Nama Pejabat Penandatangan"


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

    # who issues and signs the deployment's certificates
    certificate_issuer: str = "Kementerian Dalam Negeri Republik Indonesia"
    certificate_issuer_unit: str = "Direktorat Jenderal Bina Pemerintahan Desa"
    certificate_signatory_title: str = "Direktur Jenderal Bina Pemerintahan Desa"
    certificate_signatory_name: str = EXAMPLE_SIGNATORY
    certificate_signatory_nip: str = "000000000000000000"
    certificate_signature_image: Path | None = None
    # printed before the year and the running number: LMS-PD/2027/000042
    certificate_number_prefix: str = "LMS-PD"

    def model_post_init(self, __context: object) -> None:
        if self.environment == "prod" and self.nik_hash_key == DEV_NIK_KEY:
            raise ValueError("NIK_HASH_KEY must be set to a secret in production")
        if self.environment == "prod" and self.certificate_signatory_name == EXAMPLE_SIGNATORY:
            raise ValueError(
                "CERTIFICATE_SIGNATORY_NAME (and _NIP, _TITLE) must be set in production"
            )
        image = self.certificate_signature_image
        if image is not None and not image.is_file():
            raise ValueError(f"CERTIFICATE_SIGNATURE_IMAGE: no file at {image}")
