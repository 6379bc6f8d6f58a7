"""User content: encrypted objects (stories, story content, modules) and plain ones (presets, shelves), and the
msgpackr documents inside story content. Pure: no HTTP."""

from __future__ import annotations

from nai_sdk.content._document import (
    NAI_EXTENSION_TYPES,
    UNDEFINED,
    Document,
    DocumentPath,
    JSMap,
    JSSet,
    NaiExt,
    RawExt,
    Undefined,
    decode_document,
    encode_document,
)
from nai_sdk.content._objects import UserObject, decrypt_object, decrypt_objects, encrypt_object

__all__ = [
    "NAI_EXTENSION_TYPES",
    "UNDEFINED",
    "Document",
    "DocumentPath",
    "JSMap",
    "JSSet",
    "NaiExt",
    "RawExt",
    "Undefined",
    "UserObject",
    "decode_document",
    "decrypt_object",
    "decrypt_objects",
    "encode_document",
    "encrypt_object",
]
