"""What goes into an offline package: a whole course version, some of its lessons, or what
changed since an earlier version; and how large a course is for a device to carry.

A package is a zip of ``manifest.json`` (the outline, what this package holds, and the path,
size and SHA-256 of every other file), ``lessons/<lesson_id>.json`` and
``attachments/<attachment_id>/<filename>`` (documents, audio and video the lessons use).
Everything here is plain data: the manifest's bytes decide the package's bytes, so its hash
names the package.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .errors import CourseOverBudget
from .model import CourseVersion, Lesson

FORMAT = "lms-offline-package/1"
# already compressed: deflating them again costs a phone's battery and saves nothing
STORED_MEDIA = ("video/", "audio/", "image/jpeg", "image/png", "application/zip")


class ScopeKind(StrEnum):
    COURSE = "course"
    LESSON = "lesson"
    DELTA = "delta"


@dataclass(frozen=True)
class Media:
    """An attachment as a package carries it."""

    attachment_id: uuid.UUID
    filename: str
    media_type: str
    size_bytes: int
    sha256: str

    @property
    def path(self) -> str:
        """Under its own id, by a name that cannot leave that folder whatever was stored
        (names stored before uploads refused slashes and dot names included)."""
        name = self.filename.replace("/", "_").replace("\\", "_")
        if not name.strip(" ."):
            name = "dokumen"
        return f"attachments/{self.attachment_id}/{name}"

    @property
    def compressed(self) -> bool:
        return self.media_type.startswith(STORED_MEDIA)

    def declared(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "filename": self.filename,
            "media_type": self.media_type,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class PackageFile:
    """One file of a package: its bytes (a lesson) or the key of its blob (an attachment)."""

    path: str
    size_bytes: int
    sha256: str
    media_type: str
    data: bytes | None = None
    blob_key: str | None = None
    deflate: bool = True


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind = ScopeKind.COURSE
    lesson_ids: tuple[uuid.UUID, ...] = ()
    base_version: int | None = None
    removed_lesson_ids: tuple[uuid.UUID, ...] = ()

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {"kind": self.kind.value}
        if self.kind != ScopeKind.COURSE:
            described["lesson_ids"] = [str(x) for x in self.lesson_ids]
        if self.kind == ScopeKind.DELTA:
            described["base_version"] = self.base_version
            described["removed_lesson_ids"] = [str(x) for x in self.removed_lesson_ids]
        return described


@dataclass(frozen=True)
class PackagePlan:
    """What to zip: the manifest first, then the files in the order the manifest lists them."""

    course: CourseVersion
    scope: Scope
    manifest: bytes
    files: tuple[PackageFile, ...] = field(default_factory=tuple)

    @property
    def key(self) -> str:
        """Names the package: the same manifest always packs the same bytes."""
        return hashlib.sha256(self.manifest).hexdigest()

    @property
    def content_bytes(self) -> int:
        return len(self.manifest) + sum(f.size_bytes for f in self.files)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1).encode()


def lesson_document(lesson: Lesson, media: dict[uuid.UUID, Media]) -> bytes:
    """A lesson as the device reads it, with the size and checksum of its media. Its place
    in the outline is the manifest's: moving a lesson does not change its file."""
    attached = media.get(lesson.attachment_id) if lesson.attachment_id else None
    return _json_bytes(
        {
            "lesson_id": str(lesson.lesson_id),
            "title": lesson.title,
            "kind": lesson.kind.value,
            "required": lesson.required,
            "body": lesson.body,
            "url": lesson.url,
            "duration_seconds": lesson.duration_seconds,
            "attachment_id": str(lesson.attachment_id) if lesson.attachment_id else None,
            "attachment": attached.declared() if attached else None,
        }
    )


def lesson_documents(
    course: CourseVersion, media: dict[uuid.UUID, Media]
) -> dict[uuid.UUID, bytes]:
    return {lesson.lesson_id: lesson_document(lesson, media) for lesson in course.lessons}


def _outline(course: CourseVersion) -> list[dict[str, Any]]:
    return [
        {
            "module_id": str(m.module_id),
            "title": m.title,
            "lessons": [
                {
                    "lesson_id": str(x.lesson_id),
                    "title": x.title,
                    "kind": x.kind.value,
                    "required": x.required,
                    "path": f"lessons/{x.lesson_id}.json",
                }
                for x in m.lessons
            ],
        }
        for m in course.modules
    ]


def plan_package(
    course: CourseVersion, media: dict[uuid.UUID, Media], scope: Scope | None = None
) -> PackagePlan:
    """The files of ``scope`` (the whole version by default), in a fixed order."""
    scope = scope or Scope()
    documents = lesson_documents(course, media)
    wanted = set(course.lesson_ids) if scope.kind == ScopeKind.COURSE else set(scope.lesson_ids)
    files = [
        PackageFile(
            path=f"lessons/{lesson_id}.json",
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            media_type="application/json",
            data=data,
        )
        for lesson_id, data in sorted(documents.items(), key=lambda kv: str(kv[0]))
        if lesson_id in wanted
    ]
    attached = {
        x.attachment_id
        for x in course.lessons
        if x.lesson_id in wanted and x.attachment_id is not None and x.attachment_id in media
    }
    for attachment_id in sorted(attached, key=str):
        found = media[attachment_id]
        files.append(
            PackageFile(
                path=found.path,
                size_bytes=found.size_bytes,
                sha256=found.sha256,
                media_type=found.media_type,
                blob_key=found.sha256,
                deflate=not found.compressed,
            )
        )
    manifest = _json_bytes(
        {
            "format": FORMAT,
            "course_id": str(course.course_id),
            "code": course.code,
            "version": course.version,
            "status": course.status.value,
            "title": course.title,
            "description": course.description,
            "competency_area": course.competency_area,
            "published_at": course.published_at.isoformat() if course.published_at else None,
            "modules": _outline(course),
            "required_lesson_ids": [str(x) for x in course.required_lesson_ids],
            "scope": scope.describe(),
            "files": [
                {"path": f.path, "size_bytes": f.size_bytes, "sha256": f.sha256}
                | ({"media_type": f.media_type} if f.blob_key else {})
                for f in files
            ],
        }
    )
    return PackagePlan(course=course, scope=scope, manifest=manifest, files=tuple(files))


def delta_scope(
    base: CourseVersion,
    base_media: dict[uuid.UUID, Media],
    current: CourseVersion,
    current_media: dict[uuid.UUID, Media],
) -> Scope:
    """The lessons of ``current`` that are new or differ from ``base`` (their text, title or
    media), and those ``base`` had that ``current`` dropped."""
    before = lesson_documents(base, base_media)
    after = lesson_documents(current, current_media)
    changed = tuple(x for x in current.lesson_ids if before.get(x) != after[x])
    removed = tuple(x for x in base.lesson_ids if x not in after)
    return Scope(
        ScopeKind.DELTA,
        lesson_ids=changed,
        base_version=base.version,
        removed_lesson_ids=removed,
    )


def content_bytes(course: CourseVersion, media: dict[uuid.UUID, Media]) -> int:
    """The size of everything a learner needs to take the course offline: its whole package's
    files, manifest included (the floor a download cannot go below, but for compression)."""
    return plan_package(course, media).content_bytes


def check_budget(course: CourseVersion, media: dict[uuid.UUID, Media], budget: int) -> int:
    """The course's size, refused when a device would have to carry more than ``budget``."""
    size = content_bytes(course, media)
    if size > budget:
        raise CourseOverBudget(size, budget)
    return size
