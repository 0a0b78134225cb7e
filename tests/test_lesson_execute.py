"""dlcourse.lesson.execute: a kernel that died before replying (its ports taken by a process started at the same
moment) is started again; any other failure is raised at once; a kernel whose notebook has run is killed, not
waited for."""
import time

import nbformat
import pytest


def test_a_kernel_that_died_at_start_is_started_again(tmp_path, monkeypatch):
    import nbclient

    from dlcourse.lesson import execute

    real, calls = nbclient.NotebookClient.execute, []

    def dies_once(self, *args, **kwargs):  # the first start loses the port race; later ones run for real
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(nbclient.NotebookClient, "execute", dies_once)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    execute(nb, tmp_path, timeout=120)
    assert len(calls) == 2 and nb.cells[0].outputs[0]["text"] == "42\n"


def test_other_failures_are_not_retried(tmp_path, monkeypatch):
    import nbclient

    from dlcourse.lesson import execute

    calls = []

    def fails(self, *args, **kwargs):
        calls.append(1)
        raise RuntimeError("Kernel didn't respond in 60 seconds")

    monkeypatch.setattr(nbclient.NotebookClient, "execute", fails)
    with pytest.raises(RuntimeError, match="didn't respond"):
        execute(nbformat.v4.new_notebook(), tmp_path)
    assert len(calls) == 1


def test_the_kernel_is_killed_once_the_notebook_has_run(tmp_path):
    """Its outputs are in: nothing the kernel would still do on a polite shutdown (here an exit handler that sleeps,
    then writes a file) holds up execute or happens."""
    from dlcourse.lesson import execute

    marker = tmp_path / "exit-handler-ran"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        f"import atexit, pathlib, time\natexit.register(lambda: (time.sleep(2), pathlib.Path({str(marker)!r}).touch()))"
        "\nprint('registered')")])
    execute(nb, tmp_path, timeout=120)
    assert nb.cells[0].outputs[0]["text"] == "registered\n"
    time.sleep(3)  # time enough for the handler, had the kernel been left to exit by itself
    assert not marker.exists(), "the kernel was shut down politely: its exit handler ran"
