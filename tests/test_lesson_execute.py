"""dlcourse.lesson.execute: the kernel listens on Unix sockets of its own, so kernels started at the same moment
cannot take each other's TCP ports; a kernel whose notebook has run is killed, not waited for."""
import json
import os
import time

import nbformat


def test_the_kernel_listens_on_unix_sockets_of_its_own(tmp_path):
    """No TCP port to race for: the kernel's sockets are ipc ones in a private folder (an absolute path, as the
    kernel runs in the notebook's folder), which is gone once the notebook has run. Three notebooks at once all
    run (each thread its own kernel)."""
    from concurrent.futures import ThreadPoolExecutor

    from dlcourse.lesson import execute

    code = ("import json, os\nfrom ipykernel.kernelapp import IPKernelApp\napp = IPKernelApp.instance()\n"
            "print(json.dumps([app.transport, app.ip, sorted(os.listdir(os.path.dirname(app.ip))), os.getcwd()]))")
    folders = [tmp_path / str(k) for k in range(3)]
    for folder in folders:
        folder.mkdir()
    with ThreadPoolExecutor(3) as pool:
        nbs = list(pool.map(lambda folder: execute(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]),
                                                   folder, timeout=120), folders))
    ips = []
    for nb, folder in zip(nbs, folders):
        transport, ip, files, cwd = json.loads(nb.cells[0].outputs[0]["text"])
        assert transport == "ipc" and os.path.isabs(ip) and cwd == str(folder)
        assert len(files) == 5 and all(f.startswith("kernel-") for f in files), files  # shell, iopub, stdin, ...
        ips.append(ip)
    assert len(set(ips)) == 3 and not any(os.path.exists(os.path.dirname(ip)) for ip in ips)


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
