"""`dlcourse gradebook`: a class's submissions into one CSV, a results.json and a feedback.md per student."""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from .grading import ROOT, stub_out

CHAPTERS = ["1.1", "1.2", "1.3"]
SECRET = "# ALICE-SECRET-7c1f"


def full_marks(number: str) -> str:
    """A chapter's maximum (visible + hidden suites) as the gradebook writes it: read from the suites, so a test
    added to a suite does not break this file."""
    from dlcourse.chapters import list_chapters
    from dlcourse.points import suite_points

    chapter = next(c for c in list_chapters(ROOT / "source") if c.number == number)
    suites = [*(ROOT / "source" / chapter.name).glob("test_*.py"),
              *(ROOT / "autograder" / chapter.name).glob("test_*.py")]
    total = sum(suite_points(path) for path in suites)
    return f"{total:g}"


MAX = {number: full_marks(number) for number in CHAPTERS}


def run_gradebook(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dlcourse.cli", "gradebook", *args], capture_output=True,
                          text=True, timeout=600, cwd=cwd)


def make_class(root: Path) -> Path:
    subs = root / "subs"
    keep = shutil.ignore_patterns("ch[2-9]_*", "ch1_[4-9]_*")
    shutil.copytree(ROOT / "solutions", subs / "alice", ignore=keep)
    with open(subs / "alice" / "ch1_1_arrays" / "arrays.py", "a") as fh:
        fh.write(f"\n{SECRET}\n")
    shutil.copytree(ROOT / "exercises", subs / "bob", ignore=keep)  # untouched
    (subs / "carol").mkdir()  # not a submission
    shutil.copytree(ROOT / "solutions", subs / "dave", ignore=keep)  # 1.3 left unfinished
    stub_out(subs / "dave" / "ch1_3_sigmoid" / "sigmoid.py", "sigmoid_derivative")
    shutil.copytree(ROOT / "solutions", subs / "eve", ignore=keep)  # reads alice's work, writes the gradebook
    eve = subs / "eve" / "ch1_1_arrays" / "arrays.py"
    eve.write_text(f"""import os
for path, text in [({str(root / 'gradebook' / 'gradebook.csv')!r}, 'eve,99'),
                   ({str(root / 'gradebook' / 'alice' / 'feedback.md')!r}, 'EVE-WAS-HERE')]:
    try:
        with open(path, 'w') as fh:
            fh.write(text)
    except OSError:
        pass
try:
    LOOT = open({str(subs / 'alice' / 'ch1_1_arrays' / 'arrays.py')!r}).read()[-40:]
except OSError as exc:
    LOOT = 'no access: ' + type(exc).__name__


def normalize(X):
    raise ValueError(LOOT)
""")
    (subs / "notes.txt").write_text("not a student\n")
    return subs


@pytest.fixture
def open_folder():
    """A folder anyone may read, as a course server's may be (pytest's tmp_path is private to its user, which
    would hide the other students' work from the graded code even without the grader's doing)."""
    folder = Path(tempfile.mkdtemp(prefix="dlcourse-class-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_gradebook_of_a_class(open_folder):
    tmp_path = open_folder
    subs = make_class(tmp_path)
    assert (subs / "alice" / "ch1_1_arrays" / "arrays.py").stat().st_mode & 0o004, "the test needs readable files"
    proc = run_gradebook(str(subs), "--chapters", ",".join(CHAPTERS), "--jobs", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 of 5 submissions graded" in proc.stdout and "carol" in proc.stdout
    book = tmp_path / "gradebook"
    rows = {r["student"]: r for r in csv.DictReader(open(book / "gradebook.csv"))}
    assert list(rows) == ["alice", "bob", "carol", "dave", "eve"]
    assert [rows["alice"][c] for c in CHAPTERS] == [MAX[c] for c in CHAPTERS] and rows["alice"]["percent"] == "100.0"
    assert rows["bob"]["total"] == "0" and rows["bob"]["max"] == f"{sum(float(MAX[c]) for c in CHAPTERS):g}"
    assert rows["carol"]["total"] == "" and "not a submission" in rows["carol"]["status"]
    # dave's unfinished 1.3 costs 1.3 only
    assert rows["dave"]["1.1"] == MAX["1.1"] and rows["dave"]["1.2"] == MAX["1.2"]
    assert float(rows["dave"]["1.3"]) < float(MAX["1.3"])
    # eve's code could neither read alice's submission nor write the gradebook
    assert float(rows["eve"]["1.1"]) < float(MAX["1.1"]) and rows["eve"]["1.2"] == MAX["1.2"]
    eve_feedback = json.dumps(json.loads((book / "eve" / "results.json").read_text()))
    assert SECRET not in eve_feedback and "no access" in eve_feedback
    assert "EVE-WAS-HERE" not in (book / "alice" / "feedback.md").read_text()
    assert "eve,99" not in (book / "gradebook.csv").read_text()
    # each graded student gets Gradescope's results.json and a readable feedback.md
    results = json.loads((book / "dave" / "results.json").read_text())
    assert sum(t["score"] for t in results["tests"]) == float(rows["dave"]["total"])
    feedback = (book / "dave" / "feedback.md").read_text()
    assert feedback.startswith("# Feedback for dave") and "sigmoid_derivative is not implemented yet" in feedback
    page = (book / "dave" / "feedback.html").read_text()  # the same, with charts (tests/test_feedback_page.py)
    assert page.startswith("<!DOCTYPE html>") and "sigmoid_derivative is not implemented yet" in page
    assert "data:image/png;base64," in page
    assert not (book / "carol").exists()


def test_gradebook_refuses_bad_folders(tmp_path):
    proc = run_gradebook(str(tmp_path / "nowhere"), cwd=tmp_path)
    assert proc.returncode == 2 and "not a folder of submissions" in proc.stderr
    subs = tmp_path / "subs"
    subs.mkdir()
    proc = run_gradebook(str(subs), cwd=tmp_path)
    assert proc.returncode == 2 and "no submission folders" in proc.stderr
    (subs / "alice").mkdir()
    proc = run_gradebook(str(subs), "--out", str(subs / "book"), cwd=tmp_path)
    assert proc.returncode == 2 and "inside the submissions" in proc.stderr
    assert "Traceback" not in proc.stderr


def git(repo: Path, *args: str, date: str | None = None) -> str:
    env = None
    if date:
        env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    proc = subprocess.run(["git", "-c", "user.name=Student", "-c", "user.email=s@example.org", "-C", str(repo), *args],
                          capture_output=True, text=True, env=env, check=True)
    return proc.stdout.strip()


def student_repo(subs: Path, name: str, commits: list[tuple[str, list[str]]]) -> list[str]:
    """A clone as `gh classroom clone` leaves it: the release of 1.1-1.3, then one commit per (date, chapters solved
    by then); returns the commits' hashes."""
    repo = subs / f"week1-{name}"
    proc = subprocess.run([sys.executable, "-m", "dlcourse.cli", "release", str(repo), "--chapters", "1.1-1.3"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    git(repo, "init", "-q")
    shas = []
    for date, solved in commits:
        for chapter in solved:
            topic = chapter.split("_", 2)[2]
            shutil.copy(ROOT / "solutions" / chapter / f"{topic}.py", repo / chapter / f"{topic}.py")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "--allow-empty", "-m", f"work of {date}", date=date)
        shas.append(git(repo, "rev-parse", "HEAD"))
    return shas


def test_gradebook_of_classroom_repositories_at_a_deadline(open_folder):
    """`gh classroom clone student-repos`: a clone per student, graded at its last commit before --before."""
    subs = open_folder / "week1-submissions"
    subs.mkdir()
    alice = student_repo(subs, "alice", [("2026-11-20T10:00:00+00:00", ["ch1_1_arrays", "ch1_3_sigmoid"])])
    bob = student_repo(subs, "bob", [("2026-11-25T10:00:00+00:00", ["ch1_1_arrays"]),
                                     ("2026-12-02T09:00:00+00:00", ["ch1_3_sigmoid"])])  # after the deadline
    carol = student_repo(subs, "carol", [("2026-11-28T10:00:00+00:00", [])])
    shutil.copy(ROOT / "solutions" / "ch1_1_arrays" / "arrays.py", subs / "week1-carol" / "ch1_1_arrays")  # uncommitted
    (subs / "week1-dave").mkdir()
    git(subs / "week1-dave", "init", "-q")  # accepted the assignment, never committed
    (subs / "week1-mallory").mkdir()  # a .git that points at the kit's own repository, to be graded as its work
    (subs / "week1-mallory" / ".git").write_text(f"gitdir: {ROOT / '.git'}\n")
    out = open_folder / "book"
    proc = run_gradebook(str(subs), "--chapters", "1.1,1.3", "--before", "2026-12-01T00:00:00Z", "--out", str(out),
                         "--jobs", "2", cwd=open_folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {r["student"]: r for r in csv.DictReader(open(out / "gradebook.csv"))}
    assert (rows["week1-alice"]["1.1"], rows["week1-alice"]["1.3"], rows["week1-alice"]["commit"]) == \
        (MAX["1.1"], MAX["1.3"], alice[0])
    assert (rows["week1-bob"]["1.1"], rows["week1-bob"]["1.3"], rows["week1-bob"]["commit"]) == \
        (MAX["1.1"], "0", bob[0])
    assert (rows["week1-carol"]["total"], rows["week1-carol"]["commit"]) == ("0", carol[0])  # the commit, not the tree
    assert rows["week1-dave"]["total"] == "" and "no commit yet" in rows["week1-dave"]["status"]
    assert rows["week1-mallory"]["total"] == "" and ".git is a file or a link" in rows["week1-mallory"]["status"]
    results = json.loads((out / "week1-bob" / "results.json").read_text())
    assert results["extra_data"]["commit"] == bob[0]
    assert f"graded commit {bob[0]}" in (out / "week1-bob" / "feedback.md").read_text()
    # Without a deadline, the latest commit; a deadline before any commit leaves the row ungraded, with the reason.
    proc = run_gradebook(str(subs), "--chapters", "1.1,1.3", "--out", str(out), cwd=open_folder)
    rows = {r["student"]: r for r in csv.DictReader(open(out / "gradebook.csv"))}
    assert (rows["week1-bob"]["1.3"], rows["week1-bob"]["commit"]) == (MAX["1.3"], bob[1])
    proc = run_gradebook(str(subs), "--chapters", "1.1", "--before", "2026-11-01", "--out", str(out), cwd=open_folder)
    rows = {r["student"]: r for r in csv.DictReader(open(out / "gradebook.csv"))}
    assert rows["week1-alice"]["total"] == "" and "no commit before 2026-11-01" in rows["week1-alice"]["status"]
    bad = run_gradebook(str(subs), "--before", "next friday", "--out", str(out), cwd=open_folder)
    assert bad.returncode == 2 and "is not a date" in bad.stderr


# ---------------------------------------------------------------- resume, regrade, exports, a cluster

def small_class(root: Path, n: int = 6) -> Path:
    """``n`` students on chapters 1.1-1.3: reference modules, with 1.3 left unfinished by every third student."""
    subs = root / "subs"
    keep = shutil.ignore_patterns("ch[2-9]_*", "ch1_[4-9]_*")
    for i in range(n):
        name = f"s{i:02d}"
        shutil.copytree(ROOT / "solutions", subs / name, ignore=keep)
        if i % 3 == 2:
            stub_out(subs / name / "ch1_3_sigmoid" / "sigmoid.py", "sigmoid_derivative")
    return subs


def csv_rows(book: Path) -> list[dict]:
    return list(csv.DictReader(open(book / "gradebook.csv")))


def graded_files(book: Path) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in book.glob("*/results.json")}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill"])
def test_a_stopped_gradebook_loses_nothing_and_the_next_run_completes_it(open_folder, sig):
    """A real Ctrl-C (SIGINT to the process group, as a terminal sends it) or SIGKILL mid-run: what was written
    stays, no row is lost or doubled, and the same command again grades only the rest."""
    n = 12  # graded two chapters at a time, students finish in bursts: enough of them that some are left
    subs = small_class(open_folder, n)
    book = open_folder / "gradebook"
    cmd = [sys.executable, "-m", "dlcourse.cli", "gradebook", str(subs), "--chapters", "1.1-1.3", "--jobs", "2"]
    # As from a terminal: Ctrl-C's default action, even if this test runs where SIGINT is ignored (a background
    # job of a non-interactive shell, whose children Python then leaves without a KeyboardInterrupt).
    proc = subprocess.Popen(cmd, cwd=open_folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while not graded_files(book) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, sig)
    out, err = proc.communicate(timeout=120)
    before = graded_files(book)
    assert 1 <= len(before) < n, (len(before), out, err)
    rows = csv_rows(book)
    assert len({r["student"] for r in rows}) == len(rows), rows  # no row twice
    for row in rows:  # every student graded before the stop has the row of their results.json
        if row["student"] in before:
            assert float(row["total"]) == json.loads(before[row["student"]])["score"], row
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "run the same command again" in err and "Traceback" not in err, err
    again = subprocess.run(cmd, cwd=open_folder, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{len(before)} of {n} already graded" in again.stdout and f"({len(before)} kept" in again.stdout
    assert {k: v for k, v in graded_files(book).items() if k in before} == before  # kept as written
    rows = {r["student"]: r for r in csv_rows(book)}
    assert sorted(rows) == [f"s{i:02d}" for i in range(n)] and len(csv_rows(book)) == n
    for name, row in rows.items():
        unfinished = int(name[1:]) % 3 == 2
        assert (row["1.3"] == MAX["1.3"]) != unfinished and row["1.1"] == MAX["1.1"], row
    assert not list(book.glob(".exports-*"))


def test_regrade_and_a_seed_per_student(open_folder):
    """--regrade grades the named students again; a changed file is graded again by itself; --seed-per-student
    records each student's own seed, which a regrade reproduces."""
    from autograder.fingerprint import student_seed

    subs = small_class(open_folder, 3)
    book = open_folder / "book"
    base = ["--chapters", "1.1,1.3", "--out", str(book), "--seed", "5", "--seed-per-student"]
    first = run_gradebook(str(subs), *base, cwd=open_folder)
    assert first.returncode == 0, first.stdout + first.stderr
    seeds = {name: json.loads((book / name / "results.json").read_text())["extra_data"]["seed"]
             for name in ("s00", "s01", "s02")}
    assert seeds == {name: student_seed(5, name) for name in seeds} and len(set(seeds.values())) == 3
    written = graded_files(book)
    again = run_gradebook(str(subs), *base, "--regrade", "s01", cwd=open_folder)
    assert "2 of 3 already graded" in again.stdout and "1/1 s01:" in again.stdout, again.stdout
    assert graded_files(book)["s00"] == written["s00"]
    assert json.loads(graded_files(book)["s01"])["extra_data"]["seed"] == seeds["s01"]
    shutil.copy(ROOT / "solutions" / "ch1_3_sigmoid" / "sigmoid.py", subs / "s02" / "ch1_3_sigmoid")  # finished
    again = run_gradebook(str(subs), *base, cwd=open_folder)
    assert "1/1 s02:" in again.stdout and {r["student"]: r["1.3"] for r in csv_rows(book)}["s02"] == MAX["1.3"]
    everyone = run_gradebook(str(subs), *base, "--regrade-all", cwd=open_folder)
    assert "3/3" in everyone.stdout and "already graded" not in everyone.stdout
    bad = run_gradebook(str(subs), *base, "--regrade", "nobody", cwd=open_folder)
    assert bad.returncode == 2 and "--regrade names no submission folder: nobody" in bad.stderr


def test_canvas_export_and_class_stats(open_folder):
    """--roster/--canvas: every roster student, empty where nothing was graded, strangers named on stderr;
    --stats: each test's pass rate over the class and the commonest failure."""
    subs = small_class(open_folder, 3)
    (subs / "stranger").mkdir()
    roster = open_folder / "roster.csv"
    roster.write_text("Student,ID,SIS User ID,SIS Login ID,Section\n"
                      "    Points Possible,,,,\n"
                      "\"Zero, Sam\",101,S-0,s00,A\n"
                      "\"One, Kim\",102,S-1,s01,B\n"
                      "\"Two, Lee\",103,S-2,s02,A\n"
                      "\"Absent, Al\",104,S-9,s09,B\n")
    book = open_folder / "book"
    proc = run_gradebook(str(subs), "--chapters", "1.1,1.3", "--out", str(book), "--roster", str(roster),
                         "--canvas", str(book / "canvas.csv"), "--canvas-assignment", "Week 1", "--stats",
                         cwd=open_folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "not on the roster (not in canvas.csv): stranger" in proc.stderr
    canvas = list(csv.reader(open(book / "canvas.csv")))
    full = f"{float(MAX['1.1']) + float(MAX['1.3']):g}"
    assert canvas[0] == ["Student", "ID", "SIS User ID", "Section", "Week 1"]
    assert canvas[1:] == [["Zero, Sam", "101", "S-0", "A", full], ["One, Kim", "102", "S-1", "B", full],
                          ["Two, Lee", "103", "S-2", "A", canvas[3][4]], ["Absent, Al", "104", "S-9", "B", ""]]
    assert float(canvas[3][4]) < float(full)
    stats = {r["test"]: r for r in csv.DictReader(open(book / "stats.csv"))}
    worst = next(iter(stats.values()))  # sorted by pass rate
    assert worst["chapter"] == "1.3" and worst["passed"] == "2" and worst["graded"] == "3"
    assert "sigmoid_derivative is not implemented yet" in worst["commonest_failure"]
    assert all(r["pass_rate"] == "1.000" for r in stats.values() if r["chapter"] == "1.1")
    md = (book / "stats.md").read_text()
    assert "3 graded submissions" in md and "(33%)" not in md and "2/3 (67%)" in md and "stats.png" in md
    assert (book / "stats.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    no_roster = run_gradebook(str(subs), "--out", str(book), "--canvas", "c.csv", cwd=open_folder)
    assert no_roster.returncode == 2 and "--canvas needs --roster" in no_roster.stderr


def comparable(book: Path) -> dict[str, dict]:
    """Each student's results.json without the one field that measures time."""
    found = {}
    for name, data in graded_files(book).items():
        results = json.loads(data)
        results.pop("execution_time")
        found[name] = results
    return found


def test_grading_on_a_dask_cluster_matches_a_local_run_and_survives_a_killed_worker(open_folder):
    """--scheduler on a LocalCluster of 2 worker processes: the submissions travel as bytes, the results come
    back and are written here; a worker killed while grading has its task graded elsewhere, once."""
    from distributed import Client, LocalCluster

    subs = small_class(open_folder, 6)
    common = ["--chapters", "1.1-1.3", "--seed", "3"]
    local = run_gradebook(str(subs), *common, "--out", str(open_folder / "local"), "--jobs", "2", cwd=open_folder)
    assert local.returncode == 0, local.stdout + local.stderr
    book = open_folder / "cluster"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        pids = client.run(os.getpid)
        proc = subprocess.Popen([sys.executable, "-m", "dlcourse.cli", "gradebook", str(subs), *common, "--out",
                                 str(book), "--scheduler", cluster.scheduler_address], cwd=open_folder,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 300
        busy = {}
        while not busy and proc.poll() is None and time.monotonic() < deadline:
            # Once some students are written: a worker with a task whose student is not written yet (the
            # scheduler's list is read first, so a task it shows may end before the files are read).
            processing = client.processing()
            written = set(graded_files(book))
            busy = {w: [str(k) for k in keys if str(k).split("-")[2] not in written]
                    for w, keys in processing.items()} if written else {}
            busy = {w: keys for w, keys in busy.items() if keys}
            time.sleep(0.05)
        victim = next(iter(busy))
        os.kill(pids[victim], signal.SIGKILL)  # mid-task: its student is not written yet
        written_then = set(graded_files(book))
        # A task may still have ended between that look and the kill: those that had not are the ones it killed.
        killed_while = [k for k in busy[victim] if k.split("-")[2] not in written_then]
        out, err = proc.communicate(timeout=600)
        assert client.run(os.getpid).keys() != pids.keys() or set(client.run(os.getpid).values()) != set(pids.values())
    assert proc.returncode == 0, out + err
    assert killed_while, (busy[victim], written_then)  # the worker died with a student not yet written
    assert len(csv_rows(book)) == 6 and csv_rows(book) == csv_rows(open_folder / "local")
    assert comparable(book) == comparable(open_folder / "local")
