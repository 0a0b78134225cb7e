"""`dlcourse gradebook`: a class's submissions into one CSV, a results.json and a feedback.md per student."""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
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
