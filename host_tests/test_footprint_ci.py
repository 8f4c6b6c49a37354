"""The CI footprint comparison (tools/footprint/ci.py, docs/footprint.md "CI comparison"): the
noise model taken from repeated runs, the comparison that shows only what moved beyond it, and
the CI command that never fails for a base it cannot measure. On crafted reports: no station runs."""

import contextlib
import copy
import json
import subprocess

import pytest

from tools import budgets
from tools.footprint import cli, ci


@pytest.fixture(autouse=True)
def _budgets(monkeypatch):
    """The crafted reports have the figures of these budgets (not of budgets added since)."""
    monkeypatch.setattr(budgets, "HARD", {"rom.total": 200 << 10, "ram32.least_heap": 50 << 10})
    monkeypatch.setattr(budgets, "SOFT", {})


def _report(rev="aaa", **figures):
    """A report of one profile, lite, with the figures the tests move (path=value overrides)."""
    prof = {
        "modules": ["ocpp_lite/station", "runtime/app"],
        "missing": [],
        "handled": ["GetVariables", "Reset"],
        "session": {"steps": {"boot": "ok", "reset": "ok", "smart_charging": "not in this build"}},
        "rom": {"modules": {"ocpp_lite/station": 3247, "runtime/app": 3304}, "blocks": {"general": 6551},
                "total": 6551, "romfs_image": 8192, "board": {"unix": 3241, "device": 15903}},
        "ram32": {"imports": 25120, "after_boot": 29792, "least_heap": 37331,
                  "steps": {"boot": {"live": 29792, "allocated": 68352, "least_heap": None}},
                  "tls": {"after_boot": 56528, "least_heap": None}, "micropython": "1.26.1"},
        "flash": {"bytes": 1334, "files": 11, "writes": 31, "steps": {"boot": 6, "reset": 5}},
        "data": {"total": 25722},
        "cpu": {"boot_ms": 17.7, "ready_ms": 16.0, "response_us": {"Reset": 241, "GetVariables": 357},
                "instructions": {"start": None, "steps": {}}},
        "runs": {"sessions": 7, "seconds": 60.0, "bisection32": [[65536, 3]]},
    }
    for path, v in figures.items():
        d = prof
        keys = path.split("__")
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = v
    return {"format": 1, "source": {"rev": rev, "dirty": False}, "quick": True, "left_out": [],
            "profiles": {"lite": prof}}


def _runs():
    """Three reports of the same tree as the noise runs see them: ROM the same, the live heap
    after boot within 64 bytes, Reset's response time between 200 and 300 us, the rest the same."""
    return [_report(ram32__after_boot=29792, cpu__response_us=dict(Reset=200, GetVariables=357)),
            _report(ram32__after_boot=29856, cpu__response_us=dict(Reset=300, GetVariables=357)),
            _report(ram32__after_boot=29800, cpu__response_us=dict(Reset=250, GetVariables=357))]


@pytest.fixture
def thr(tmp_path):
    """The thresholds the noise runs of _runs() give, through noise.json as CI reads it."""
    f = tmp_path / "noise.json"
    f.write_text(json.dumps(ci.noise_file(_runs())))
    return ci.load_thresholds(f)


def test_noise_runs_give_per_pattern_thresholds_from_the_largest_spread():
    data = ci.noise_file(_runs())
    t = data["thresholds"]
    assert data["measured"]["runs"] == 3 and data["margin"] == ci.MARGIN
    assert data["spread"]["lite.ram32.after_boot"]["abs"] == 64
    assert data["spread"]["lite.cpu.response_us.Reset"]["rel"] == 0.5
    assert "lite.rom.total" not in data["spread"] and "lite.cpu.response_us.GetVariables" not in data["spread"]
    assert t["ram32*after_boot|ram32.steps.*.live"] == dict(kind="abs", value=ci.MARGIN * 64, seen=64, worst="lite.ram32.after_boot")
    assert t["cpu.response_us.*"]["kind"] == "rel" and t["cpu.response_us.*"]["value"] == pytest.approx(ci.MARGIN * 0.5)
    # nothing seen: the floor, one bisection step for the least heaps, 0 elsewhere
    assert t["ram*least_heap"]["value"] == cli.RESOLUTION and t["flash.*"]["value"] == 0
    # ROM is exact whatever the runs saw
    runs = _runs()
    runs[1]["profiles"]["lite"]["rom"]["total"] += 100
    assert ci.noise_file(runs)["thresholds"]["rom.*"]["value"] == 0


def _shown(base, new, thr):
    rows = {r["path"]: r["moved"] for r in ci.changes(base, new, thr)}
    text = ci.summary(base, new, thr, "HEAD~1")
    return rows, text


def test_a_rom_byte_shows(thr):
    rows, text = _shown(_report(), _report(rom__total=6552), thr)
    assert rows["rom.total"] and sum(rows.values()) == 1
    assert "| rom.total | 6551 | 6552 | +1 (+0.0 %) | any change |" in text
    assert "no change beyond noise" not in text


def test_the_same_figures_show_no_change(thr):
    rows, text = _shown(_report(), _report(rev="bbb"), thr)
    assert not any(rows.values())
    assert "**lite**: no change beyond noise" in text and "aaa -> bbb" in text


def test_a_least_heap_change_within_a_bisection_step_does_not_show_and_beyond_does(thr):
    rows, text = _shown(_report(), _report(ram32__least_heap=37331 + cli.RESOLUTION), thr)
    assert not any(rows.values()) and "no change beyond noise" in text
    rows, text = _shown(_report(), _report(ram32__least_heap=37331 - 2 * cli.RESOLUTION), thr)
    assert rows["ram32.least_heap"] and "| ram32.least_heap | 37331 | 36307 | -1024 (-2.7 %) | ±512 |" in text


def test_a_live_heap_change_within_its_noise_does_not_show_and_beyond_does(thr):
    within, beyond = 29792 + 2 * 64, 29792 + 2 * 64 + 1
    assert not any(_shown(_report(), _report(ram32__after_boot=within), thr)[0].values())
    rows, text = _shown(_report(), _report(ram32__after_boot=beyond), thr)
    assert rows["ram32.after_boot"] and "| ram32.after_boot |" in text
    # the live heap after a step shares after_boot's threshold; bytes allocated have their own
    rows, _ = _shown(_report(), _report(ram32__steps=dict(boot=dict(live=29792 + 128, allocated=68352 + 1,
                                                                     least_heap=None))), thr)
    assert [p for p, m in rows.items() if m] == ["ram32.steps.boot.allocated"]


def test_a_timing_change_within_its_noise_does_not_show_and_beyond_does(thr):
    # Reset's response time spread 50 % in the noise runs: the threshold is twice that
    rows, text = _shown(_report(), _report(cpu__response_us=dict(Reset=241 * 2, GetVariables=357)), thr)
    assert not any(rows.values()) and "no change beyond noise" in text
    rows, text = _shown(_report(), _report(cpu__response_us=dict(Reset=241 * 3 + 1, GetVariables=357)), thr)
    assert rows["cpu.response_us.Reset"] and "| cpu.response_us.Reset | 241 | 724 |" in text
    # the other response times share the pattern's threshold although they did not move in the
    # runs; the time to boot has a pattern of its own, which saw no spread
    rows, _ = _shown(_report(), _report(cpu__response_us=dict(Reset=241, GetVariables=357 * 2), cpu__boot_ms=30.0), thr)
    assert [p for p, m in rows.items() if m] == ["cpu.boot_ms"]


def test_new_figures_steps_and_actions_show(thr):
    new = _report(handled=["GetVariables", "Reset", "SetChargingProfile"],
                  cpu__response_us=dict(Reset=241, GetVariables=357, SetChargingProfile=300))
    new["profiles"]["lite"]["session"]["steps"]["smart_charging"] = "ok"
    rows, text = _shown(_report(), new, thr)
    assert rows["cpu.response_us.SetChargingProfile"] and rows["handled.count"]
    assert "step smart_charging: not in this build -> ok" in text and "handles now: SetChargingProfile" in text
    assert "| cpu.response_us.SetChargingProfile |  | 300 | new |" in text
    rows, text = _shown(new, _report(), thr)
    assert "no longer handles: SetChargingProfile" in text and "| cpu.response_us.SetChargingProfile | 300 |  | gone |" in text
    # a step that no longer completes shows although no figure moved
    new = _report()
    new["profiles"]["lite"]["session"]["steps"]["reset"] = "failed: no reply"
    rows, text = _shown(_report(), new, thr)
    assert not any(rows.values()) and "step reset: ok -> failed: no reply" in text
    assert "no change beyond noise" not in text


def _table(text):
    return [line for line in text.splitlines() if line.startswith("| ") and "figure" not in line and "---" not in line]


def test_the_short_comparison_is_short_and_the_full_table_has_every_figure(thr):
    new = _report()
    new["profiles"]["lite"]["rom"]["modules"] = {"m%02d" % i: 100 + i for i in range(30)}
    new["profiles"]["lite"]["ram32"]["steps"]["boot"]["live"] += 1000
    # the figures of one table that moved share a row: how many, the largest, the range
    table = _table(ci.summary(_report(), new, thr, "HEAD~1"))
    assert table == ["| `rom.modules.*`: 32 (runtime/app gone, ocpp_lite/station gone, m29 new, ...) | | |  | any change |",
                     "| ram32.steps.boot.live | 29792 | 30792 | +1000 (+3.4 %) | ±128 |"]
    new["profiles"]["lite"]["rom"]["modules"]["ocpp_lite/station"] = 3247 + 9
    new["profiles"]["lite"]["rom"]["modules"]["runtime/app"] = 3304 - 5
    assert "| `rom.modules.*`: 32 (m29 new, m28 new, m27 new, ...) | | | -5 to +9 | any change |" in _table(
        ci.summary(_report(), new, thr, "HEAD~1"))
    # at most MAX_ROWS rows, the rest in the full table
    for i in range(20):
        new["profiles"]["lite"]["x%02d" % i] = i
    text = ci.summary(_report(), new, thr, "HEAD~1", "build/footprint/compare.md")
    table = _table(text)
    assert len(table) == ci.MAX_ROWS + 1 and table[-1].startswith("| ... 10 more in build/footprint/compare.md")
    full = ci.full_table(_report(), new, thr, "HEAD~1")
    assert full.count("| lite.rom.modules.") == 32 and full.count("| lite.x") == 20
    assert full.count("**yes**") == sum(r["moved"] for r in ci.changes(_report(), new, thr)) == 30 + 2 + 1 + 20


def test_a_profile_in_one_report_only_is_named(thr):
    two = _report()
    two["profiles"]["core"] = copy.deepcopy(two["profiles"]["lite"])
    text = ci.summary(_report(), two, thr, "HEAD~1")
    assert "**core**: not in the base" in text and "**lite**: no change beyond noise" in text
    assert "**core**: no longer measured" in ci.summary(two, _report(), thr, "HEAD~1")


def test_the_committed_noise_model_is_measured_and_covers_every_pattern():
    data = json.loads(ci.NOISE.read_text())
    assert data["measured"]["runs"] >= 3 and "lite" in data["measured"]["profiles"] and data["measured"]["quick"]
    assert [p for p, _, _ in ci.PATTERNS] == list(data["thresholds"])
    thr = ci.load_thresholds()
    assert thr["rom.*"] == ("exact", 0) and thr["ram*least_heap"][1] >= cli.RESOLUTION
    assert all(thr[p][0] == kind for p, kind, _ in ci.PATTERNS)


def test_noise_runs_alternate_between_paths_of_two_lengths(tmp_path, monkeypatch, capsys):
    """CI compares the checkout with a temporary worktree: the noise runs measure in two
    worktrees whose paths differ in length, in turn, each run a quick report."""
    monkeypatch.setattr(cli, "OUT", tmp_path / "out")
    runs, used = iter(_runs() + _runs()), []

    @contextlib.contextmanager
    def worktree(ref, name="base"):
        assert ref == "HEAD"
        yield tmp_path / name

    def report_in(wt, json_path, svg_path, args, stdout=None):
        assert args[:1] == ["--quick"]
        used.append(wt.name)
        json_path.write_text(json.dumps(next(runs)))
        return True

    monkeypatch.setattr(cli, "worktree", worktree)
    monkeypatch.setattr(cli, "report_in", report_in)
    out = tmp_path / "noise.json"
    assert ci.main(["noise", "--runs", "4", "--out", str(out)]) == 0
    assert used == ["base", "base" + ci.LONGER] * 2 and len(ci.LONGER) >= 32
    assert sorted(p.name for p in (tmp_path / "out" / "noise").glob("run-*.json")) == ["run-%d.json" % i for i in (1, 2, 3, 4)]
    assert json.loads(out.read_text())["measured"]["runs"] == 4


def test_noise_from_reports_writes_the_model(tmp_path, capsys):
    files = []
    for i, r in enumerate(_runs()):
        files.append(tmp_path / ("run-%d.json" % i))
        files[-1].write_text(json.dumps(r))
    out = tmp_path / "noise.json"
    assert cli.main(["noise", "--from", *map(str, files), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["spread"]["lite.ram32.after_boot"]["abs"] == 64
    assert "| `cpu.response_us.*` | rel | 50.0 % | lite.cpu.response_us.Reset | 100.0 % |" in capsys.readouterr().out


# --- the CI command: the base measured, or said why not ------------------------------------
def _git(cwd, *a):
    return subprocess.run(["git", *a], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _repo(path, commits):
    path.mkdir()
    _git(path, "init", "-q")
    for i in range(commits):
        (path / "f").write_text(str(i))
        _git(path, "add", "f")
        _git(path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "c%d" % i)
    return path


def test_no_parent_commit_and_a_shallow_clone_are_said(tmp_path):
    one = _repo(tmp_path / "one", 1)
    report, why = ci.measure_base("HEAD~1", None, cwd=one)
    assert report is None and "no such commit" in why
    two = _repo(tmp_path / "two", 2)
    _git(tmp_path, "clone", "-q", "--depth", "1", "file://%s" % two, "shallow")
    report, why = ci.measure_base("HEAD~1", None, cwd=tmp_path / "shallow")
    assert report is None and "shallow clone" in why


@pytest.fixture
def ci_run(tmp_path, monkeypatch):
    """ci.main(["ci"]) with the working tree's report crafted (rc: do_report's exit status) and
    the base's report crafted, or failing, in place of the measurements; (rc, stdout, OUT)."""
    monkeypatch.setattr(cli, "OUT", tmp_path / "out")
    state = {"rc": 0, "new": _report(rev="new", rom__total=6600), "old": _report(rev="old")}

    def do_report(a):
        assert a.quick and a.no_docs
        (tmp_path / "new.json").write_text(json.dumps(state["new"]))
        return state["rc"]

    @contextlib.contextmanager
    def worktree(ref):
        assert len(ref) == 40  # resolved
        yield tmp_path

    def report_in(wt, json_path, svg_path, args, stdout=None):
        assert "--quick" in args
        assert args[args.index("--hint") + 1] == str(tmp_path / "new.json")  # the working tree's report
        if state["old"] is None:
            return False
        json_path.write_text(json.dumps(state["old"]))
        return True

    monkeypatch.setattr(cli, "do_report", do_report)
    monkeypatch.setattr(cli, "worktree", worktree)
    monkeypatch.setattr(cli, "report_in", report_in)

    def run(capsys, base="HEAD", **kw):
        state.update(kw)
        monkeypatch.setenv("FOOTPRINT_BASE", base)
        rc = ci.main(["ci", "--quick", "--json", str(tmp_path / "new.json")])
        return rc, capsys.readouterr().out, cli.OUT

    return run


def test_ci_prints_and_writes_the_comparison(ci_run, capsys):
    rc, out, d = ci_run(capsys)
    assert rc == 0
    assert "### Footprint: old -> new (quick reports, base `HEAD`)" in out
    assert "| rom.total | 6551 | 6600 | +49 (+0.7 %) | any change |" in out and "Hard budgets: all met" in out
    assert out.strip().endswith((d / "ci.md").read_text().strip())
    assert "| lite.rom.total | 6551 | 6600 | +49 | +0.7 % | any change | **yes** |" in (d / "compare.md").read_text()


def test_ci_fails_on_a_hard_budget_and_only_then(ci_run, capsys):
    rc, out, _ = ci_run(capsys, new=_report(rev="new", ram32__least_heap=60 << 10))  # the real do_report's check
    assert "Hard budgets: lite ram32.least_heap = 60.0 kB > 50.0 kB" in out
    assert ci_run(capsys, rc=1)[0] == 1
    assert ci_run(capsys, rc=1, base="no-such-ref")[0] == 1
    assert ci_run(capsys, rc=0, base="no-such-ref")[0] == 0


def test_ci_without_a_base_says_so_and_passes(ci_run, capsys):
    ci_run(capsys)  # a compare.md from an earlier run
    rc, out, d = ci_run(capsys, base="no-such-ref")
    assert rc == 0 and "No comparison: the base `no-such-ref` could not be measured (not in this clone" in out
    assert not (d / "compare.md").exists() and "No comparison" in (d / "ci.md").read_text()
    rc, out, d = ci_run(capsys, old=None)  # the base's report fails
    assert rc == 0 and "could not be measured (its report failed" in out
    rc, out, d = ci_run(capsys, old={"format": 1})  # or writes no figures
    assert rc == 0 and "could not be measured (its report failed" in out



@pytest.mark.parametrize("hint", [20480, 30720, 31232, 31744, 32768, 40960, 47000])
def test_a_hinted_search_brackets_the_same_least_heap_in_fewer_runs(hint):
    """cli.bracket from a hint (the CI base's bisections start from the working tree's least
    heaps): whatever the hint, the bracket holds the heap where the session starts to complete,
    and a hint within a kB of it takes at most three runs (a bisection from scratch: 7-8)."""
    need, lo = 31000, 20000
    runs = []

    def ok(heap):
        runs.append(heap)
        return heap >= need

    low, high = cli.bracket(ok, lo, hint)
    assert lo <= low < need <= high
    if abs(hint - need) <= 1024:
        assert len(runs) <= 3, runs


def test_a_hinted_search_without_a_large_enough_heap_says_so():
    runs = []
    low, high = cli.bracket(lambda heap: runs.append(heap) or False, 20000, 30000)
    assert high is None and runs[-1] == cli.MAX_HEAP and len(runs) < 20
