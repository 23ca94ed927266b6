"""The feedback questions, as data: ``flows/questionnaires/default.toml``, and a centre's own
list (``<centre slug>.toml``) in the folder ``QUESTIONNAIRE_DIR`` names.

A coordinator changes the questions by editing a file, not code. Every text in it is a
message id: :func:`extract` lets ``pybabel extract`` collect them into the catalogs (see
``babel.cfg``), and a question whose text or answers are not translated into a person's
language is not asked in it (:meth:`Questionnaire.for_language`).

Answers are kept as one short string, ``question=value`` pairs sorted by question and joined
with ``;`` (:func:`encode`), so the values and ids are restricted to ``[a-z0-9_]``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flows.i18n import Translator

PACKAGED = Path(__file__).with_name("questionnaires")
DEFAULT = "default"
MAX_CHOICES = 8  # a Viber keyboard row and the answer buttons must fit a small screen
MAX_QUESTIONS = 12
MAX_TEXT = 500
_NAME = re.compile(r"^[a-z0-9_]{1,24}$")
_SLUG = re.compile(r"^[a-z0-9-]{1,40}$")


class QuestionnaireError(ValueError):
    pass


@dataclass(frozen=True)
class Choice:
    value: str
    icon: str
    label: str  # a msgid


@dataclass(frozen=True)
class Question:
    id: str
    text: str  # a msgid
    short: str  # a msgid: the column heading in exports
    choices: tuple[Choice, ...] = ()
    faces: bool = False  # one row of icons, the first and last label in the question
    limit: int = 0  # a text question: at most this many characters

    @property
    def typed(self) -> bool:
        return not self.choices

    def msgids(self) -> list[str]:
        return [self.text, self.short, *(choice.label for choice in self.choices)]


@dataclass(frozen=True)
class Questionnaire:
    name: str
    questions: tuple[Question, ...]

    def for_language(self, t: Translator) -> list[int]:
        """The positions of the questions asked in this language: those whose question and
        answers are all translated."""
        return [
            index
            for index, question in enumerate(self.questions)
            if all(t.knows(msgid) for msgid in (question.text, *_labels(question)))
        ]

    def question(self, index: int) -> Question | None:
        return self.questions[index] if 0 <= index < len(self.questions) else None


def _labels(question: Question) -> list[str]:
    return [choice.label for choice in question.choices]


class Questionnaires:
    """The default questionnaire and the centres' own, loaded (and checked) once at start."""

    def __init__(self, default: Questionnaire, own: Mapping[str, Questionnaire]) -> None:
        self.default = default
        self.own = dict(own)

    @classmethod
    def load(cls, folder: Path | None = None) -> Questionnaires:
        """The packaged default, replaced by ``default.toml`` in ``folder`` if there is one;
        every other ``<slug>.toml`` there is that centre's own."""
        default = read(PACKAGED / f"{DEFAULT}.toml")
        own: dict[str, Questionnaire] = {}
        if folder is not None:
            if not folder.is_dir():
                raise QuestionnaireError(f"{folder}: no such folder")
            for path in sorted(folder.glob("*.toml")):
                if path.stem == DEFAULT:
                    default = read(path)
                elif _SLUG.match(path.stem):
                    own[path.stem] = read(path)
                else:
                    raise QuestionnaireError(f"{path}: name it after a centre's link name")
        return cls(default, own)

    def for_centre(self, slug: str | None) -> Questionnaire:
        return self.own.get(slug or "", self.default)

    def all(self) -> list[Questionnaire]:
        return [self.default, *self.own.values()]


def read(path: Path) -> Questionnaire:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        return parse(data, path.stem)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise QuestionnaireError(f"{path}: {error}") from error
    except QuestionnaireError as error:
        raise QuestionnaireError(f"{path}: {error}") from error


def parse(data: Mapping[str, Any], name: str) -> Questionnaire:
    raw = data.get("question")
    if not isinstance(raw, list) or not raw:
        raise QuestionnaireError("no [[question]] entries")
    if len(raw) > MAX_QUESTIONS:
        raise QuestionnaireError(f"at most {MAX_QUESTIONS} questions")
    questions = [_question(item) for item in raw]
    ids = [question.id for question in questions]
    if len(set(ids)) != len(ids):
        raise QuestionnaireError("two questions have the same id")
    return Questionnaire(name, tuple(questions))


def _text(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise QuestionnaireError(f"{where}: `{key}` must be a text")
    return value.strip()


def _question(item: Any) -> Question:
    if not isinstance(item, dict):
        raise QuestionnaireError("a question must be a table")
    qid = item.get("id")
    if not isinstance(qid, str) or not _NAME.match(qid):
        raise QuestionnaireError(f"question id {qid!r}: use a-z, 0-9 and _")
    where = f"question {qid!r}"
    text, short = _text(item, "text", where), _text(item, "short", where)
    if item.get("kind") == "text":
        limit = item.get("limit", MAX_TEXT)
        if not isinstance(limit, int) or not 1 <= limit <= MAX_TEXT:
            raise QuestionnaireError(f"{where}: `limit` must be 1 to {MAX_TEXT}")
        return Question(qid, text, short, limit=limit)
    raw = item.get("choices")
    if not isinstance(raw, list) or not 2 <= len(raw) <= MAX_CHOICES:
        raise QuestionnaireError(f'{where}: give 2 to {MAX_CHOICES} choices (or kind = "text")')
    choices = []
    for choice in raw:
        if not isinstance(choice, dict):
            raise QuestionnaireError(f"{where}: a choice must be a table")
        value = choice.get("value")
        if not isinstance(value, str) or not _NAME.match(value):
            raise QuestionnaireError(f"{where}: choice value {value!r}: use a-z, 0-9 and _")
        icon = choice.get("icon", "")
        if not isinstance(icon, str):
            raise QuestionnaireError(f"{where}: `icon` must be a text")
        choices.append(Choice(value, icon.strip(), _text(choice, "label", where)))
    if len({choice.value for choice in choices}) != len(choices):
        raise QuestionnaireError(f"{where}: two choices have the same value")
    faces = bool(item.get("faces", False))
    if faces and not all(choice.icon for choice in choices):
        raise QuestionnaireError(f"{where}: `faces` needs an icon on every choice")
    return Question(qid, text, short, tuple(choices), faces=faces)


# --- answers as stored -------------------------------------------------------------------


def encode(answers: Mapping[str, str]) -> str:
    """``{"useful": "4", "feel": "better"}`` → ``"feel=better;useful=4"`` (skipped: absent)."""
    return ";".join(f"{key}={answers[key]}" for key in sorted(answers))


def decode(stored: str) -> dict[str, str]:
    pairs = (part.split("=", 1) for part in stored.split(";") if "=" in part)
    return {key: value for key, value in pairs}


# --- pybabel extraction ----------------------------------------------------------------------


def extract(
    fileobj: IO[bytes], keywords: object, comment_tags: object, options: object
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """A Babel extractor for questionnaire files (``[extractors]`` in ``babel.cfg``)."""
    data = tomllib.loads(fileobj.read().decode("utf-8"))
    questionnaire = parse(data, "extract")
    for question in questionnaire.questions:
        for msgid in question.msgids():
            yield 0, None, msgid, [f"feedback question {question.id}"]
