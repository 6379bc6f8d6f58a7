"""Upload an encrypted story with a document, read it back, edit it, and read it again.

Run: `python examples/storage_roundtrip.py`.
"""

from __future__ import annotations

from _setup import novelai_environment

from nai_sdk import NovelAI
from nai_sdk.content import Document, JSMap, NaiExt, UserObject


def story_document(paragraphs: list[str]) -> Document:
    """A story-shaped msgpackr document: a Map of text sections (the shape NovelAI's editor writes)."""
    sections = JSMap({1000 + i: NaiExt(40, {"type": 1, "text": text}) for i, text in enumerate(paragraphs)})
    return Document(NaiExt(20, {"version": 1, "sections": sections, "order": list(sections)}))


def paragraphs_of(document: Document | None) -> list[str]:
    """The texts of the document's sections, in order."""
    if document is None:
        return []
    return [text for path, text in document.strings() if path and path[-1] == "text"]


def main() -> None:
    with novelai_environment(), NovelAI() as nai:
        # The keystore holds one key per encrypted object; it opens with the key derived from the password.
        keystore = nai.storage.keystore()
        meta = keystore.new_meta()  # a new key, shared by the story and its content

        content = UserObject.new("storycontent", {"storyContentVersion": 6}, keystore, meta=meta)
        content.set_document(story_document(["The lantern swung in the wind."]))
        content = nai.storage.create(content)  # saves the changed keystore first, then the encrypted object
        story = nai.storage.create(
            UserObject.new(
                "stories",
                {"storyMetadataVersion": 1, "remoteStoryId": content.id, "title": "The Lantern"},
                keystore,
                meta=meta,
            )
        )
        print(f"uploaded story {story.id} with content {content.id}")

        # Read it back: every object is decrypted; a damaged one would have `ok` False and `error` set.
        stored = next(s for s in nai.storage.stories() if s.id == story.id)
        print(f"read back {stored.title!r}: {paragraphs_of(stored.document())}")

        # Edit: change the document, upload the change (a 409 ConflictError if someone else changed it meanwhile).
        assert stored.content is not None
        document = story_document([*paragraphs_of(stored.document()), "Mira climbed the tower."])
        stored.content.set_document(document)
        nai.storage.edit(stored.content)
        again = nai.storage.get("storycontent", stored.content.id)
        print(f"after the edit: {paragraphs_of(again.document())}")


if __name__ == "__main__":
    main()
