"""Text extraction and media kind over every Evolution upsert sample."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.schemas.evolution import MessagesUpsertEvent, parse_evolution_webhook
from bridge.schemas.evolution_message import WaMessage
from bridge.whatsapp_text import extract_text, media_kind
from tests.contracts_dir import load_contract


def message_of(name: str) -> WaMessage | None:
    event = parse_evolution_webhook(load_contract(f"evolution/{name}"))
    assert isinstance(event, MessagesUpsertEvent)
    return event.data.message


@pytest.mark.parametrize(
    ("name", "kind", "text", "reply_id"),
    [
        ("messages-upsert-text.json", "text", "Oi, preciso de ajuda com meu pedido", None),
        ("messages-upsert-quoted-reply.json", "text", "Sim, esse mesmo", None),
        ("messages-upsert-group.json", "text", "Alguém do suporte pode me ajudar?", None),
        ("messages-upsert-list-response.json", "reply", "Sim", "1"),
        (
            "messages-upsert-buttons-response.json",
            "reply",
            "Falar com atendente",
            "falar_atendente",
        ),
        ("messages-upsert-template-button-reply.json", "reply", "Ver planos", "ver_planos"),
        (
            "messages-upsert-interactive-response.json",
            "reply",
            "Falar com atendente",
            "falar_atendente",
        ),
        ("messages-upsert-image.json", "caption", "Foto do produto com defeito", None),
        ("messages-upsert-video.json", "caption", "Vídeo mostrando o problema", None),
        ("messages-upsert-document.json", "caption", "Segue a nota", None),
        ("messages-upsert-audio.json", "media", "", None),
        ("messages-upsert-image-legacy-v22.json", "media", "", None),
        ("messages-upsert-contact.json", "contact", "Carlos Fictício", None),
        ("messages-upsert-reaction.json", "non_turn", "", None),
        ("messages-upsert-sticker.json", "non_turn", "", None),
    ],
)
def test_extract_text_from_samples(name: str, kind: str, text: str, reply_id: str | None) -> None:
    result = extract_text(message_of(name))
    assert result is not None
    assert (result.kind, result.text, result.reply_id) == (kind, text, reply_id)
    assert result.is_turn is (kind != "non_turn")


def test_location_mentions_name_and_coordinates() -> None:
    result = extract_text(message_of("messages-upsert-location.json"))
    assert result is not None
    assert result.kind == "location"
    assert "Loja Centro" in result.text
    assert "-23.5505,-46.6333" in result.text


@pytest.mark.parametrize(
    ("name", "kind", "mimetype", "file_name", "voice"),
    [
        ("messages-upsert-image.json", "image", "image/jpeg", None, False),
        ("messages-upsert-audio.json", "audio", "audio/ogg; codecs=opus", None, True),
        ("messages-upsert-video.json", "video", "video/mp4", None, False),
        ("messages-upsert-document.json", "document", "application/pdf", "nota-fiscal.pdf", False),
        ("messages-upsert-sticker.json", "sticker", "image/webp", None, False),
    ],
)
def test_media_kind_from_samples(
    name: str, kind: str, mimetype: str, file_name: str | None, voice: bool
) -> None:
    media = media_kind(message_of(name))
    assert media is not None
    assert (media.kind, media.mimetype, media.file_name, media.is_voice_note) == (
        kind,
        mimetype,
        file_name,
        voice,
    )


@pytest.mark.parametrize(
    "name",
    ["messages-upsert-text.json", "messages-upsert-reaction.json", "messages-upsert-contact.json"],
)
def test_non_media_has_no_media_kind(name: str) -> None:
    assert media_kind(message_of(name)) is None


@pytest.mark.parametrize(
    "wrapper",
    ["ephemeralMessage", "viewOnceMessage", "viewOnceMessageV2", "documentWithCaptionMessage"],
)
def test_wrappers_are_unwrapped(wrapper: str) -> None:
    inner: dict[str, Any] = {"imageMessage": {"mimetype": "image/png", "caption": " olá "}}
    message = WaMessage.model_validate({wrapper: {"message": inner}})
    text = extract_text(message)
    assert text is not None
    assert (text.kind, text.text) == ("caption", "olá")
    media = media_kind(message)
    assert media is not None
    assert media.kind == "image"


def test_nested_wrappers_and_extended_text() -> None:
    message = WaMessage.model_validate(
        {"ephemeralMessage": {"message": {"extendedTextMessage": {"text": "link https://x.test"}}}}
    )
    result = extract_text(message)
    assert result is not None
    assert (result.kind, result.text) == ("text", "link https://x.test")


def test_protocol_message_is_not_a_turn_and_empty_is_none() -> None:
    revoke = WaMessage.model_validate({"protocolMessage": {"type": 0, "key": {"id": "X"}}})
    result = extract_text(revoke)
    assert result is not None
    assert result.is_turn is False
    assert extract_text(None) is None
    unknown = extract_text(WaMessage.model_validate({"pollCreationMessage": {"name": "?"}}))
    assert unknown is not None
    assert unknown.kind == "unsupported"
    assert unknown.is_turn is False


def test_interactive_reply_with_bad_params_keeps_title() -> None:
    message = WaMessage.model_validate(
        {
            "interactiveResponseMessage": {
                "body": {"text": "Sales"},
                "nativeFlowResponseMessage": {"paramsJson": "not json"},
            }
        }
    )
    result = extract_text(message)
    assert result is not None
    assert (result.kind, result.text, result.reply_id) == ("reply", "Sales", None)
