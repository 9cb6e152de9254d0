"""Each bad file is rejected with a clear message, in the CLI and on the upload page, and
leaves no plan or clause rows behind."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from reviewapp.importing import errors
from reviewapp.models import Clause, ImportFile, Plan
from reviewapp.services.plan_import import plans_import
from tests.bad_inputs import BAD_INPUTS, oversize
from tests.factories import admin_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_the_import_service_rejects_it_with_a_clear_message(case: str) -> None:
    name, make, expected = BAD_INPUTS[case]
    _, outcomes = plans_import(files=[(name, make())])
    assert [o.outcome for o in outcomes] == ["rejected"]
    assert outcomes[0].message.startswith(expected), outcomes[0].message
    assert Plan.objects.count() == 0
    assert Clause.objects.count() == 0
    assert ImportFile.objects.get().message == outcomes[0].message


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_the_cli_prints_the_reason_and_exits_non_zero(case: str, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    name, make, expected = BAD_INPUTS[case]
    path = tmp_path / name
    path.write_bytes(make())
    with pytest.raises(CommandError) as raised:
        call_command("import_plans", str(path), "--no-progress")
    assert raised.value.returncode == 1
    output = capsys.readouterr().out
    assert "rejected" in output
    assert expected.strip() in output
    assert Plan.objects.count() == 0


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_the_upload_page_shows_the_reason(case: str, client: Client) -> None:
    name, make, expected = BAD_INPUTS[case]
    client.force_login(admin_user())
    upload = SimpleUploadedFile(name, make())
    response = client.post(reverse("import_upload"), {"files": [upload]})
    assert response.status_code == 200
    assert "rejected" in response.content.decode()
    assert expected.split("'")[0].split("(")[0].strip() in response.content.decode().replace(
        "&#x27;", "'"
    ).replace("&quot;", '"')
    assert Plan.objects.count() == 0


def test_an_oversize_file_is_refused_before_parsing(settings) -> None:  # type: ignore[no-untyped-def]
    settings.IMPORT_MAX_FILE_BYTES = 10_000
    _, outcomes = plans_import(files=[("big.txt", oversize(10_000))])
    assert outcomes[0].outcome == "rejected"
    assert outcomes[0].message == errors.FILE_TOO_LARGE.format(size=10_100, limit=10_000)
    assert Plan.objects.count() == 0


def test_an_oversize_upload_is_refused_without_being_read(settings, client: Client) -> None:  # type: ignore[no-untyped-def]
    settings.IMPORT_MAX_FILE_BYTES = 10_000
    client.force_login(admin_user())
    upload = SimpleUploadedFile("big.txt", oversize(10_000))
    response = client.post(reverse("import_upload"), {"files": [upload]})
    assert errors.FILE_TOO_LARGE.format(size=10_100, limit=10_000) in response.content.decode()
    assert Plan.objects.count() == 0


def test_a_zip_with_an_unsafe_entry_still_imports_its_safe_entries(seed_bytes) -> None:  # type: ignore[no-untyped-def]
    from tests.bad_inputs import _zip

    archive = _zip({"../evil.txt": seed_bytes["haidian"], "ok/yangpu.txt": seed_bytes["yangpu"]})
    _, outcomes = plans_import(files=[("mixed.zip", archive)])
    by_name = {o.file_name: o for o in outcomes}
    assert by_name["mixed.zip/../evil.txt"].outcome == "rejected"
    assert by_name["mixed.zip/ok/yangpu.txt"].outcome == "imported"
    assert Plan.objects.count() == 1


def test_a_zip_entry_that_expands_beyond_its_declared_size_is_stopped() -> None:
    from reviewapp.importing.formats import Limits, zip_entries
    from tests.bad_inputs import _zip

    data = bytearray(_zip({"a.txt": "一、总体要求\n".encode() * 50}))
    # Lower the declared size in the central directory; the real stream is longer.
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    entries = zip_entries(bytes(data), Limits())
    assert entries[0].data is None
    assert entries[0].message.startswith(("Archive entry", "The .zip archive is damaged"))


def test_a_parse_that_overruns_the_time_limit_is_stopped_and_the_next_file_still_imports(
    settings,  # type: ignore[no-untyped-def]
    seed_bytes,
) -> None:
    from reviewapp.importing.formats import Limits
    from reviewapp.importing.sandbox import SandboxLimits, parse_many

    results = parse_many(
        [("slow.txt", seed_bytes["suzhou"])], Limits(), SandboxLimits(timeout_seconds=0.0001)
    )
    assert str(results[0]) == errors.PARSE_TIMEOUT.format(seconds=0.0001)
    # A fresh pool replaced the killed one: the next file parses normally.
    results = parse_many([("ok.txt", seed_bytes["yangpu"])], Limits(), SandboxLimits())
    assert len(results[0].clauses) == 42


def test_a_pdf_over_the_page_limit_is_rejected(settings, seed_bytes) -> None:  # type: ignore[no-untyped-def]
    from tests.documents import make_pdf, text_lines

    settings.IMPORT_MAX_PDF_PAGES = 2
    pdf = make_pdf(text_lines(seed_bytes["haidian"]))
    _, outcomes = plans_import(files=[("long.pdf", pdf)])
    assert outcomes[0].message == errors.PDF_TOO_MANY_PAGES.format(limit=2)
    assert Plan.objects.count() == 0
