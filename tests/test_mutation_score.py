"""make mutation's verdict (tests/mutation_score.py) on made-up mutmut results, counted by hand."""

import mutation_score as score

CORE = "bench_lib.measure.protocol"
PLAN = "bench_lib.run.plan"


def results(module, killed, survived, method=False):
    name = (lambda i: f"{module}.xǁGuardǁsnapshot__mutmut_{i}") if method else (lambda i: f"{module}.x_fit__mutmut_{i}")
    return {**{name(i): "killed" for i in range(killed)},
            **{name(killed + i): "survived" for i in range(survived)}}


def test_mutant_names_give_their_module():
    assert score.module("bench_lib.run.plan.x_fit__mutmut_3") == "bench_lib.run.plan"
    assert score.module("bench_lib.measure.protocol.xǁGuardǁsnapshot__mutmut_12") == "bench_lib.measure.protocol"


def test_each_module_meets_its_floor_and_survivors_not_listed_are_counted():
    """Core 18 of 20 = 90% (its floor), plan 17 of 20 = 85% (its floor): 35 of 40 = 87.5%
    in all passes an overall floor of 87.5%. One core survivor is listed, one is not."""
    found = {**results(CORE, 18, 2), **results(PLAN, 17, 3, method=True)}
    lines, ok = score.verdict(found, {f"{CORE}.x_fit__mutmut_19"}, floors={PLAN: 0.85}, overall=0.875)
    assert ok, lines
    assert lines == ["  bench_lib.measure.protocol: killed 18 of 20 (90.0%), floor 90%; 1 unexplained",
                     "  bench_lib.run.plan: killed 17 of 20 (85.0%), floor 85%; 3 unexplained",
                     "killed 35 of 40 mutants (87.5%)"]


def test_a_module_below_its_floor_or_all_below_the_overall_floor_fails():
    found = {**results(CORE, 17, 3), **results(PLAN, 20, 0)}  # core 85% < 90%
    lines, ok = score.verdict(found, set(), floors={PLAN: 0.85}, overall=0.5)
    assert not ok and lines[0] == "  bench_lib.measure.protocol: killed 17 of 20 (85.0%), below its floor of 90%; 3 unexplained"
    found = {**results(PLAN, 16, 4)}  # plan 80% < 85%
    assert not score.verdict(found, set(), floors={PLAN: 0.85}, overall=0.5)[1]
    found = {**results(CORE, 19, 1), **results(PLAN, 17, 3)}  # 36 of 40 = 90% < 92%
    assert score.verdict(found, set(), floors={PLAN: 0.85}, overall=0.92) == (
        ["  bench_lib.measure.protocol: killed 19 of 20 (95.0%), floor 90%; 1 unexplained",
         "  bench_lib.run.plan: killed 17 of 20 (85.0%), floor 85%; 3 unexplained",
         "below the overall floor of 92%", "killed 36 of 40 mutants (90.0%)"], False)


def test_a_listed_mutant_killed_this_time_is_reported_for_pruning():
    lines, ok = score.verdict(results(CORE, 2, 0), {f"{CORE}.x_fit__mutmut_1"}, floors={}, overall=0.9)
    assert ok and lines[0] == ("listed, killed this time (prune it if it stays killed): "
                               "bench_lib.measure.protocol.x_fit__mutmut_1")


def test_the_floors_are_the_issues():
    """85% in each planning module, 90% in all, 90% in the rest of the core but report and ratios."""
    for name in ("bench_lib.run.plan", "bench_lib.results.ledger", "bench_lib.publish.forecast",
                 "bench_lib.measure.timeline"):
        assert score.floor(name) == 0.85
    assert score.floor("bench_lib.measure.protocol") == 0.90 and score.OVERALL == 0.90
    assert score.floor("bench_lib.publish.report") == score.floor("bench_lib.measure.ratios") == 0.85
