"""Evolution REST response bodies the bridge reads back."""

from __future__ import annotations

from pydantic import Field

from bridge.schemas.base import UpstreamModel
from bridge.schemas.evolution import MessageData
from bridge.schemas.evolution_message import WaModel

# A send answers 201 with the prepared message: same shape as `send.message` data.
EvoSendResult = MessageData


class EvoMediaBase64(WaModel):
    """`POST /chat/getBase64FromMediaMessage` answer."""

    base64: str = Field(min_length=1)
    media_type: str | None = None
    file_name: str | None = None
    caption: str | None = None
    mimetype: str | None = None


class EvoReadResult(UpstreamModel):
    message: str | None = None
    read: str | None = None


__all__ = ["EvoMediaBase64", "EvoReadResult", "EvoSendResult"]
