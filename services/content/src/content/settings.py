from pydantic import Field

from servicekit.settings import ServiceSettings


class ContentSettings(ServiceSettings):
    attachment_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1)
    sync_max_items: int = Field(default=500, ge=1, le=10_000)  # at most schemas.MAX_SYNC_ITEMS
    # an offline package is built in memory; refuse to build one larger than this
    package_max_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    # what a device may have to carry for one course (its whole offline package); an author
    # sees the course's size against it and cannot publish a version over it
    course_budget_bytes: int = Field(default=100 * 1024 * 1024, ge=1)
    # bodies other than attachment uploads (course outlines, sync batches)
    json_max_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
