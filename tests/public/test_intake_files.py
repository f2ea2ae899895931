"""The files of a mailbox petition's photos: none left when the petition fails, none swept while a row names it."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest

from engine.services.attachment_sweep import SweepAttachments, sweep_attachments
from engine.services.public_intake import Photo, submit_petition
from tests.unit.test_attachments import files_in, rows

from .conftest import petition, photo_with_exif, submit


def test_a_petition_whose_unit_of_work_fails_leaves_none_of_its_photos(city):
    photos = (Photo("a.jpg", io.BytesIO(photo_with_exif())), Photo("b.png", io.BytesIO(photo_with_exif("PNG"))))
    kept_before = files_in(city)
    with pytest.raises(RuntimeError, match="after the photos"), city.uow() as uow:
        submit_petition(petition(photos=photos), uow)
        assert len(files_in(city)) == len(kept_before) + 4  # each shown without EXIF, and kept whole
        raise RuntimeError("the request failed after the photos were in place")
    assert files_in(city) == kept_before


def test_a_photo_and_its_original_stay_through_any_sweep(city):
    before = rows(city)
    submit(city, photos=(Photo("pothole.jpg", io.BytesIO(photo_with_exif())),))
    assert rows(city) == before + 1 and len(files_in(city)) >= 2
    kept = files_in(city)
    city.clock.advance(days=30)
    found = sweep_attachments(SweepAttachments(grace=timedelta(hours=1)), city)
    assert (found.removed, found.named) == (0, len(kept))
    assert files_in(city) == kept
