"""The combined log: each line carries its part, also from threads a part's code starts."""

from __future__ import annotations

import io
import threading

from tools.local_logs import PartStream, current_part, inherit_parts, set_part


def test_lines_carry_the_part_of_the_thread_that_wrote_them_and_are_never_split() -> None:
    target = io.StringIO()
    stream = PartStream(target, colour=False)

    def write(part: str) -> None:
        set_part(part)
        for _ in range(50):
            stream.write(f"{part} one ")
            stream.write(f"line\n{part} next\n")

    threads = [threading.Thread(target=write, args=(name,)) for name in ("api", "sync", "refresh")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = target.getvalue().splitlines()
    assert len(lines) == 300
    for line in lines:
        prefix, text = line[:10].strip(), line[10:]
        assert prefix == f"[{text.split()[0]}]"
        assert text in {f"{text.split()[0]} one line", f"{text.split()[0]} next"}


def test_threads_started_by_a_part_inherit_its_part() -> None:
    inherit_parts()
    seen: list[str] = []

    def parent() -> None:
        set_part("resman")
        child = threading.Thread(target=lambda: seen.append(current_part()))
        child.start()
        child.join()

    thread = threading.Thread(target=parent)
    thread.start()
    thread.join()
    assert seen == ["resman"]
