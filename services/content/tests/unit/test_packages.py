"""What a package holds: the whole course, one lesson, or what changed since a version; and
what a course weighs on a device against its budget."""

import hashlib
import io
import json
import uuid
import zipfile
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from content.domain.errors import CourseOverBudget
from content.domain.model import CourseVersion, Lesson, LessonKind, Module, VersionStatus
from content.domain.packages import (
    Media,
    Scope,
    ScopeKind,
    check_budget,
    content_bytes,
    delta_scope,
    plan_package,
)
from content.store.packages import zip_files

AUDIO = Media(uuid.uuid4(), "siaran.mp3", "audio/mpeg", 300_000, "a" * 64)
PDF = Media(uuid.uuid4(), "Permendagri 20-2018.pdf", "application/pdf", 120_000, "b" * 64)
MEDIA = {AUDIO.attachment_id: AUDIO, PDF.attachment_id: PDF}


def course(version: int = 1, *lessons: Lesson) -> CourseVersion:
    lessons = lessons or (
        Lesson(uuid.UUID(int=1), "Siklus APBDes", LessonKind.TEXT, body="Perencanaan ..."),
        Lesson(uuid.UUID(int=2), "Siaran", LessonKind.AUDIO, attachment_id=AUDIO.attachment_id),
        Lesson(uuid.UUID(int=3), "Peraturan", LessonKind.DOCUMENT, attachment_id=PDF.attachment_id),
    )
    return CourseVersion(
        course_id=uuid.UUID(int=99),
        version=version,
        code="KEU-01",
        title="Pengelolaan Keuangan Desa",
        status=VersionStatus.PUBLISHED,
        modules=(Module(uuid.UUID(int=50), "APBDes", lessons),),
        published_at=datetime(2026, 11, 1, tzinfo=UTC),
    )


def test_a_whole_course_package_declares_every_file_with_its_size_and_checksum() -> None:
    plan = plan_package(course(), MEDIA)
    manifest = json.loads(plan.manifest)
    assert manifest["scope"] == {"kind": "course"}
    declared = {f["path"]: f for f in manifest["files"]}
    assert declared[AUDIO.path] == {
        "path": AUDIO.path,
        "size_bytes": 300_000,
        "sha256": "a" * 64,
        "media_type": "audio/mpeg",
    }
    lesson = next(f for f in plan.files if f.path == f"lessons/{uuid.UUID(int=2)}.json")
    assert lesson.data is not None and hashlib.sha256(lesson.data).hexdigest() == lesson.sha256
    assert json.loads(lesson.data)["attachment"]["size_bytes"] == 300_000
    assert plan.content_bytes == len(plan.manifest) + sum(f.size_bytes for f in plan.files)
    assert content_bytes(course(), MEDIA) == plan.content_bytes


def test_the_same_version_always_plans_the_same_manifest_and_so_the_same_name() -> None:
    assert plan_package(course(), MEDIA).key == plan_package(course(), dict(MEDIA)).key
    assert plan_package(course(), MEDIA).key != plan_package(course(2), MEDIA).key


def test_a_lesson_package_holds_that_lesson_and_its_media_with_the_whole_outline() -> None:
    only = Scope(ScopeKind.LESSON, lesson_ids=(uuid.UUID(int=3),))
    plan = plan_package(course(), MEDIA, only)
    assert [f.path for f in plan.files] == [f"lessons/{uuid.UUID(int=3)}.json", PDF.path]
    manifest = json.loads(plan.manifest)
    assert len(manifest["modules"][0]["lessons"]) == 3
    assert manifest["scope"] == {"kind": "lesson", "lesson_ids": [str(uuid.UUID(int=3))]}


def test_a_delta_holds_only_the_lessons_that_changed_and_names_those_removed() -> None:
    before = course(1)
    kept, edited, dropped = before.lessons
    added = Lesson(uuid.UUID(int=4), "Baru", LessonKind.TEXT, body="Isi baru.")
    after = course(2, kept, replace(edited, title="Siaran (diperbarui)"), added)
    scope = delta_scope(before, MEDIA, after, MEDIA)
    assert scope.lesson_ids == (edited.lesson_id, added.lesson_id)
    assert scope.removed_lesson_ids == (dropped.lesson_id,) and scope.base_version == 1
    plan = plan_package(after, MEDIA, scope)
    assert AUDIO.path in [f.path for f in plan.files] and PDF.path not in plan.manifest.decode()
    assert plan.content_bytes < content_bytes(after, MEDIA)


def test_new_media_under_the_same_lesson_counts_as_a_change() -> None:
    before = course(1)
    replaced = Media(AUDIO.attachment_id, "siaran.mp3", "audio/mpeg", 310_000, "c" * 64)
    scope = delta_scope(before, MEDIA, course(2), {**MEDIA, AUDIO.attachment_id: replaced})
    assert scope.lesson_ids == (uuid.UUID(int=2),)


def test_a_course_over_its_budget_is_refused_with_both_sizes() -> None:
    size = content_bytes(course(), MEDIA)
    assert check_budget(course(), MEDIA, size) == size
    with pytest.raises(CourseOverBudget) as refused:
        check_budget(course(), MEDIA, size - 1)
    assert (refused.value.content_bytes, refused.value.budget_bytes) == (size, size - 1)


def test_zipped_bytes_are_fixed_and_compressed_media_is_stored_as_is() -> None:
    files = [("manifest.json", b"{}", True), ("a/video.mp4", bytes(range(256)) * 40, False)]
    first, second = zip_files(files), zip_files(list(files))
    assert first == second
    archive = zipfile.ZipFile(io.BytesIO(first))
    assert archive.getinfo("a/video.mp4").compress_type == zipfile.ZIP_STORED
    assert archive.getinfo("manifest.json").date_time == (1980, 1, 1, 0, 0, 0)
