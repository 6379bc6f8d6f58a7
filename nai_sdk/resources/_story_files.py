"""`storage.import_file` and `storage.export`: NovelAI's story files into and out of the account.

An import reads and checks the whole file before anything is sent (a file that does not read raises
`StoryFileError` and sends nothing), then uploads through the same road as `create_story`: a new key saved to the
keystore (read-merge-write) first, the content next, the story last, with the same lookups when an answer is lost
and the same cleanup when the story cannot be made. An export writes the `.story` file 0600, atomically.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from nai_sdk.errors import StoryFileError

if TYPE_CHECKING:
    from nai_sdk._session import Session
    from nai_sdk.content import AnyStoryFile
    from nai_sdk.resources._base import Flow
    from nai_sdk.resources.storage import Story

__all__ = ["FileSource", "export_flow", "import_flow", "prepare_import", "read_source"]

#: What `import_file` takes: a path, or a file already read.
FileSource: TypeAlias = "str | os.PathLike[str] | AnyStoryFile"


def read_source(source: FileSource) -> AnyStoryFile:
    """The file itself, read and checked (a path is read whole)."""
    from nai_sdk.content import LorebookFile, ScenarioFile, StoryFile, read_file

    if isinstance(source, StoryFile | ScenarioFile | LorebookFile):
        return source
    return read_file(source)


def prepare_import(
    file: AnyStoryFile, placeholders: Mapping[str, str] | None, into: Story | None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The metadata and content data to upload for a file (copies), or None for a lorebook going `into` a story.

    Raises:
        StoryFileError: `into` given with a story or scenario file, or `placeholders` with a file that has none.
    """
    from nai_sdk.content import LorebookFile, ScenarioFile, StoryFile

    if into is not None and not isinstance(file, LorebookFile):
        raise StoryFileError("only a lorebook can be imported into an existing story", path=file.path)
    if isinstance(file, ScenarioFile):
        story = file.to_story(placeholders)
        return story.metadata, story.content
    if placeholders:
        raise StoryFileError("placeholders only apply to a scenario file", path=file.path)
    if isinstance(file, StoryFile):
        return copy.deepcopy(file.metadata), copy.deepcopy(file.content)
    if into is not None:
        return None
    title = Path(file.path).stem if file.path else "Imported lorebook"
    new = StoryFile.new(title, content={"lorebook": file.data})
    return new.metadata, new.content


def _merge_lorebook(target: dict[str, Any], lorebook: Mapping[str, Any]) -> None:
    """Append a lorebook's entries and categories to a story content's lorebook (copies; clashing ids renewed)."""
    from nai_sdk.content import Lorebook, StoryContent
    from nai_sdk.content._views import new_entry_id

    own = StoryContent(target).lorebook
    seen = {entry.id for entry in own.entries} | {category.id for category in own.categories}
    renamed: dict[str, str] = {}
    source = Lorebook(copy.deepcopy(dict(lorebook)))
    for category in source.categories:
        data = category.data
        assert data is not None
        if category.id in seen or not category.id:
            renamed[category.id] = data["id"] = new_entry_id()
        own._list_for_append("categories").append(data)
    for entry in source.entries:
        data = entry.data
        assert data is not None
        if entry.id in seen or not entry.id:
            data["id"] = new_entry_id()
        if entry.category in renamed:
            data["category"] = renamed[entry.category]
        own._list_for_append("entries").append(data)


def import_flow(
    session: Session, file: AnyStoryFile, placeholders: Mapping[str, str] | None, into: Story | None
) -> Flow[Story]:
    """Upload a file that was read whole: a new story, or (a lorebook `into` a story) an edit of its content."""
    from nai_sdk.content import LorebookFile
    from nai_sdk.resources.storage import Story, _edit_flow, _upload_story_flow

    prepared = prepare_import(file, placeholders, into)
    if prepared is not None:
        metadata, content_data = prepared
        return (yield from _upload_story_flow(session, metadata, content_data))
    assert into is not None and isinstance(file, LorebookFile)
    if into.content is None or into.content.data is None:
        raise StoryFileError("the story's content could not be read, so nothing can be added to it", field="content")
    _merge_lorebook(into.content.data, file.data)
    into.content.mark_modified()
    content = yield from _edit_flow(session, into.content)
    return Story(story=into.story, content=content)


def export_flow(session: Session, story: Story | str) -> Flow[bytes]:
    """The `.story` file's bytes of a story (fetched first when given by id)."""
    from nai_sdk.content._files import story_bytes
    from nai_sdk.resources.storage import Story, _get_flow

    if isinstance(story, str):
        metadata = yield from _get_flow(session, "stories", story)
        remote = metadata.data.get("remoteStoryId") if metadata.data else None
        content = (yield from _get_flow(session, "storycontent", remote)) if isinstance(remote, str) else None
        story = Story(story=metadata, content=content)
    if story.content is None:
        raise StoryFileError(f"story {story.id} has no content object to export", field="content")
    for obj in (story.story, story.content):
        if obj.error is not None:
            raise StoryFileError(
                f"the {obj.type} object {obj.id} could not be read ({type(obj.error).__name__}): nothing to export",
                field="metadata" if obj is story.story else "content",
            ) from obj.error
    return story_bytes(story.story, story.content)


def write_export(path: str | os.PathLike[str], content: bytes) -> Path:
    """Write an exported story: 0600, atomically."""
    from nai_sdk._files import write_private

    target = Path(path)
    write_private(target, content)
    return target
