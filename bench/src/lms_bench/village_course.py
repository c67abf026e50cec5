"""The demo course a learner takes over a poor link: text lessons, a radio talk (audio) and a
regulation (PDF) that travel inside the package, an untimed quiz that may go offline and a
timed post-test taken online. Made by an author, over a client nobody counts."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import httpx

AUDIO_BYTES = 480_000  # about four minutes of speech at 16 kbit/s
PDF_BYTES = 240_000


@dataclass(frozen=True)
class Course:
    course_id: str
    lesson_ids: list[str]
    quiz_id: str
    quiz_key: dict[str, Any]
    post_test_id: str
    post_test_key: dict[str, Any]


QUESTIONS = [
    {
        "kind": "single_choice",
        "prompt": "Siapa menetapkan APBDes?",
        "options": [
            {"text": "Kepala desa bersama BPD", "correct": True},
            {"text": "Camat", "correct": False},
            {"text": "Bupati", "correct": False},
        ],
    },
    {"kind": "true_false", "prompt": "APBDes ditetapkan dengan peraturan desa.", "answer": True},
    {
        "kind": "short_answer",
        "prompt": "Singkatan anggaran pendapatan dan belanja desa?",
        "accepted_answers": ["APBDes"],
    },
]


def _ok(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text[:300]}"
    return response.json()


async def _attach(
    http: httpx.AsyncClient, url: str, author: dict[str, str], name: str, data: bytes, kind: str
) -> str:
    response = await http.post(
        f"{url}/attachments?filename={name}", content=data, headers={**author, "Content-Type": kind}
    )
    return str(_ok(response, 201)["attachment_id"])


async def demo_course(urls: dict[str, str], author: dict[str, str], seed: int) -> Course:
    chance = random.Random(seed)
    async with httpx.AsyncClient(timeout=60) as http:
        outline: dict[str, Any] = {"title": "Pengelolaan Keuangan Desa", "modules": []}
        draft = _ok(
            await http.post(
                f"{urls['content']}/v1/courses",
                headers=author,
                json={"code": f"KEU-2G-{seed}", **outline},
            ),
            201,
        )
        url = f"{urls['content']}/v1/courses/{draft['course_id']}"
        audio = await _attach(
            http, url, author, "siaran-apbdes.mp3", chance.randbytes(AUDIO_BYTES), "audio/mpeg"
        )
        pdf = await _attach(
            http,
            url,
            author,
            "permendagri-20-2018.pdf",
            chance.randbytes(PDF_BYTES),
            "application/pdf",
        )
        lessons = [
            {
                "title": "Siklus APBDes",
                "kind": "text",
                "body": "Perencanaan, pelaksanaan, ... " * 40,
            },
            {"title": "Siaran radio: APBDes", "kind": "audio", "attachment_id": audio},
            {"title": "Permendagri 20/2018", "kind": "document", "attachment_id": pdf},
            {"title": "Pertanggungjawaban", "kind": "text", "body": "Laporan realisasi ... " * 40},
        ]
        outline["modules"] = [{"title": "APBDes", "lessons": lessons}]
        _ok(await http.put(url, headers=author, json=outline), 200)
        course = _ok(await http.post(f"{url}/publish", headers=author), 200)
        quiz = await _assessment(http, urls, author, course["course_id"], "quiz", None)
        post = await _assessment(http, urls, author, course["course_id"], "post_test", 1800)
    return Course(
        course["course_id"],
        course["lesson_ids"],
        quiz["assessment_id"],
        quiz,
        post["assessment_id"],
        post,
    )


async def _assessment(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    author: dict[str, str],
    course_id: str,
    kind: str,
    time_limit: int | None,
) -> dict[str, Any]:
    body = {
        "course_id": course_id,
        "kind": kind,
        "title": f"{kind}: Pengelolaan Keuangan Desa",
        "time_limit_seconds": time_limit,
        "questions": QUESTIONS,
    }
    return dict(
        _ok(await http.post(f"{urls['assessment']}/v1/assessments", headers=author, json=body), 201)
    )


def answers_for(keyed: dict[str, Any], questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The right answers to a paper's questions, from the author's key."""
    by_id = {q["question_id"]: q for q in keyed["questions"]}
    answers: list[dict[str, Any]] = []
    for question in questions:
        key = by_id[question["question_id"]]
        answer: dict[str, Any] = {"question_id": question["question_id"]}
        if key["kind"] == "true_false":
            answer["value"] = key["answer"]
        elif key["kind"] == "short_answer":
            answer["text"] = key["accepted_answers"][0]
        else:
            answer["option_ids"] = [o["option_id"] for o in key["options"] if o["correct"]]
        answers.append(answer)
    return answers
