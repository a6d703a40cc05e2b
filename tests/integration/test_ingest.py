"""Ingest into real Chroma in a temporary folder: stable ids, reruns, failures that leave the
previous index serving, a Chroma server, the model check."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codedesk.errors import IndexUnavailable, ModelMismatch, SourceError
from codedesk.ingest.run import ingest
from codedesk.ingest.store import IndexStore, make_client
from codedesk.retrieval.service import build_answerer
from codedesk.settings import Settings
from tests.conftest import REPO, small_tabular
from tests.support import TcpProxy, free_port


@pytest.fixture(scope="module")
def small_xml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_tabular(tmp_path_factory.mktemp("tab") / "tabular-small.xml")


def _settings(home: Path, xml: Path, **kw: object) -> Settings:
    return Settings(home=home, tabular_xml=xml, cms_data_dir=None, _env_file=None, **kw)


def test_ingest_then_rerun_embeds_nothing(tmp_path: Path, small_xml: Path) -> None:
    s = _settings(tmp_path, small_xml)
    first = ingest(s, progress=False)
    assert first.changed and first.embedded > 1000 and first.added == first.documents
    again = ingest(s, progress=False)
    # nothing re-embedded or rewritten; how long that takes is measured in bench/run.py, not here
    assert not again.changed and again.embedded == 0 and again.unchanged == first.documents
    assert again.added == again.updated == again.removed == 0
    gen = IndexStore(s).active()
    assert gen.gen == first.generation and gen.vectors == first.vectors
    ids = (
        IndexStore(s)
        .collection(gen.vec_name("icd10cm-2026"))
        .get(ids=["ICD-10-CM:2026:code:E11.22"])["ids"]
    )
    assert ids == ["ICD-10-CM:2026:code:E11.22"]


def test_changed_source_reuses_vectors_and_counts_changes(tmp_path: Path, small_xml: Path) -> None:
    s = _settings(tmp_path, small_xml)
    first = ingest(s, progress=False)
    text = small_xml.read_text(encoding="utf-8").replace(
        "<desc>Chronic kidney disease, stage 3b</desc>",
        "<desc>Chronic kidney disease, stage 3b (revised)</desc>",
    )
    changed_xml = tmp_path / "tabular-changed.xml"
    changed_xml.write_text(text, encoding="utf-8")
    second = ingest(_settings(tmp_path, changed_xml), progress=False)
    assert second.changed and second.generation != first.generation
    assert second.embedded <= 3 and second.reused >= first.vectors - 3
    assert second.updated >= 1 and second.removed == 0
    store = IndexStore(s)
    names = {c.name for c in store.client.list_collections()}
    assert not any(first.generation in n for n in names), (
        "the old generation is dropped after the switch"
    )


def test_malformed_source_names_file_and_line_and_keeps_serving(
    tmp_path: Path, small_xml: Path
) -> None:
    s = _settings(tmp_path, small_xml)
    first = ingest(s, progress=False)
    bad = tmp_path / "broken.xml"
    lines = small_xml.read_text(encoding="utf-8").splitlines()
    bad.write_text(
        "\n".join(lines[:200] + ["<diag><name>E11.9</name>"] + lines[200:400]), encoding="utf-8"
    )
    with pytest.raises(SourceError) as err:
        ingest(_settings(tmp_path, bad), progress=False)
    assert "broken.xml" in str(err.value) and "line" in str(err.value)
    assert IndexStore(s).active().gen == first.generation
    answer = build_answerer(s).answer("type 2 diabetes with diabetic chronic kidney disease")
    assert answer.codes[0].code == "E11.22"


def test_killed_ingest_leaves_previous_index_serving(tmp_path: Path, small_xml: Path) -> None:
    s = _settings(tmp_path, small_xml)
    first = ingest(s, progress=False)
    changed = tmp_path / "other.xml"
    changed.write_text(
        small_xml.read_text(encoding="utf-8").replace("diabetes", "diabetes (x)"), encoding="utf-8"
    )
    env = {
        **os.environ,
        "CODEDESK_HOME": str(tmp_path),
        "CODEDESK_TABULAR_XML": str(changed),
        "CODEDESK_CMS_DATA_DIR": "",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "codedesk", "ingest", "--force", "-q"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = IndexStore(s)
    deadline = time.time() + 120
    while time.time() < deadline:  # kill it once it has started writing a new generation
        names = [c.name for c in IndexStore(s).client.list_collections()]
        if sum(1 for n in names if n.startswith("codedesk-txt-")) > 1:
            break
        if proc.poll() is not None:
            pytest.fail("ingest finished before it could be interrupted")
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert store.active().gen == first.generation
    assert build_answerer(s).answer("E11.22").codes[0].code == "E11.22"
    again = ingest(
        s, progress=False
    )  # the original source again: nothing to do, stale collections dropped
    assert not again.changed
    names = [c.name for c in IndexStore(s).client.list_collections()]
    assert sum(1 for n in names if n.startswith("codedesk-txt-")) == 1


def test_model_mismatch_is_a_clear_error(tmp_path: Path, small_xml: Path) -> None:
    ingest(_settings(tmp_path, small_xml), progress=False)
    with pytest.raises(ModelMismatch, match="codedesk ingest"):
        IndexStore(_settings(tmp_path, small_xml)).require_active("some-other-model")


def test_chroma_server(tmp_path: Path, small_xml: Path) -> None:
    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    server = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        s = _settings(tmp_path / "home", small_xml, chroma_host="127.0.0.1", chroma_port=port)
        summary = ingest(s, progress=False)
        assert summary.changed
        assert not (tmp_path / "home" / "chroma").exists(), "nothing written to the embedded store"
        answer = build_answerer(s).answer("CKD stage 3b")
        assert answer.codes[0].code == "N18.32"

        # a server that accepts and goes quiet: the answer gives up after the time limit
        with TcpProxy(free_port(), ("127.0.0.1", port)) as proxy:
            proxy.start()
            quiet = s.model_copy(update={"chroma_port": proxy.port, "chroma_timeout_s": 2.0})
            answerer = build_answerer(quiet, require_index=True)
            assert answerer.answer("CKD stage 3b").codes[0].code == "N18.32"
            proxy.pause()
            started = time.monotonic()
            with pytest.raises(IndexUnavailable):
                answerer.answer("chronic kidney disease stage 4")
            assert time.monotonic() - started < 15
            with pytest.raises(IndexUnavailable):  # and a client built against it
                make_client(quiet)
            proxy.resume()
            assert answerer.answer("chronic kidney disease stage 4").codes[0].code == "N18.4"
    finally:
        server.terminate()
        server.wait(timeout=20)
