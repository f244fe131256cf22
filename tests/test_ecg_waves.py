"""What the beat shows (QRS onset), the bounds it sets, the fiducial rule's QRS lobes and
overlap clamps, the template's choice among P starts, and P presence in noise."""
import numpy as np
import pytest

import gmesa
from gmesa import ecg
from gmesa.ecg.fiducials import RULE, complex_edges, reach, wave_fiducials
from gmesa.ecg.beatmodel import best_start
from gmesa.ecg.beats import beat_windows
from gmesa.ecg.template import median_beat
from gmesa.ecg.presence import (P_LOCK, P_LONGEST, PR_SEGMENT_MIN, TemplateFit, consistent_p,
                                 p_is_wave, p_lock, rr_jumps, rr_variation, steady_p,
                                 wave_presence)
from gmesa.ecg.waves import (P_BEFORE_QRS, Q_BEFORE_QRS, TYPICAL_BEAT, WAVES, bounds,
                              qrs_onset)

FS = 500.0
T = np.arange(-0.4, 0.6, 1 / FS)


def _beat(**changes):
    rows = {w: list(TYPICAL_BEAT[w]) for w in WAVES}
    for w, row in changes.items():
        rows[w] = list(row)
    return np.array([v for w in WAVES for v in rows[w]] + [0.0])


def _sum_onset(p, frac=0.01):
    """Where |Q + R + S| first exceeds ``frac`` of its maximum (s)."""
    qrs = gmesa.mesa_sum(T, np.concatenate([p[5:20], [0.0]]))
    return T[np.argmax(np.abs(qrs) > frac * np.abs(qrs).max())]


def test_qrs_onset_read_off_the_slope():
    """On the typical beat the slope-read onset lies between the true onset (1% of the
    Q+R+S peak) and the Q center; the Q bound it sets keeps the true Q center free."""
    p = _beat()
    on = qrs_onset(T, gmesa.mesa_sum(T, p))[0]
    assert _sum_onset(p) - 1 / FS <= on <= p[6] + 1 / FS
    assert on - Q_BEFORE_QRS < p[6] - 0.005
    # the P wave ends well before; a P twice as tall does not move the onset
    tall = _beat(P=(0.30,) + TYPICAL_BEAT["P"][1:])
    assert qrs_onset(T, gmesa.mesa_sum(T, tall))[0] == pytest.approx(on, abs=1 / FS)


def test_qrs_onset_rows_with_nan_padding():
    early = _beat(Q=(-0.10, -0.045) + TYPICAL_BEAT["Q"][2:])
    Y = np.stack([gmesa.mesa_sum(T, _beat()), gmesa.mesa_sum(T, early)])
    X = np.tile(T, (2, 1))
    X[1, -50:] = Y[1, -50:] = np.nan
    on = qrs_onset(X, Y)
    assert on.shape == (2,) and on[1] < on[0] - 0.01
    assert on[0] == pytest.approx(qrs_onset(T, Y[0])[0])


def test_qrs_onset_not_on_a_flat_bottomed_s():
    """R detected on a flat-bottomed negative wave (QTDB sel308): the quiet stretch is
    the one before the QRS's first steep slope, not the plateau R sits on."""
    p = _beat(Q=(0.0,) + TYPICAL_BEAT["Q"][1:], R=(0.7, -0.05, 0.0, 0.008, 0.008),
              S=(-1.1, 0.0, 0.0125, 0.012, 0.024))
    y = gmesa.mesa_sum(T, p)
    on = qrs_onset(T, y)[0]
    assert on == pytest.approx(-0.05 - 0.008 * 2.5, abs=0.012)
    assert on < -0.06


def test_qrs_onset_flat_beat_gives_earliest():
    assert qrs_onset(T, np.zeros_like(T), earliest_s=-0.15)[0] == -0.15


def test_bounds_keep_p_before_the_qrs_onset():
    names = ("P", "Q", "R")
    lo, hi = bounds(names, np.array([1.0, 1.0]), -0.4, 0.6, qrs_on=np.array([-0.07, np.nan]))
    free_lo, free_hi = bounds(names, 1.0, -0.4, 0.6)
    assert hi[0, 1] == pytest.approx(-0.07 - P_BEFORE_QRS)
    assert lo[0, 6] == pytest.approx(-0.07 - Q_BEFORE_QRS)    # Q center near the onset
    assert hi[1, 1] == free_hi[1] and lo[1, 6] == free_lo[6]  # NaN: no limit


def test_qrs_offset_reaches_a_deep_wide_s_wave():
    """Walking from the peak stops between R and a terminal S of 40% of R; starting at the
    outermost lobe ends the complex after S."""
    p = np.array([1.0, 0.0, 0.0, 0.010, 0.010, -0.4, 0.05, 0.01, 0.012, 0.02])
    _, _, off_peak = complex_edges(p, 0.4, 0.4, lobe=1.0)
    _, _, off_lobe = complex_edges(p, 0.4, 0.4, lobe=0.3)
    assert off_peak[0] < 0.05 < off_lobe[0]
    # a shallow S (below the lobe share) leaves the edge where the peak walk puts it
    shallow = p.copy()
    shallow[5] = -0.1
    assert complex_edges(shallow, 0.4, 0.4, lobe=0.3)[2] == pytest.approx(
        complex_edges(shallow, 0.4, 0.4, lobe=1.0)[2])


def test_waves_do_not_overlap_the_qrs():
    wide_p = _beat(P=(0.15, -0.10, 0.03, 0.02, 0.08))    # right tail into the QRS
    wide_t = _beat(T=(0.30, 0.27, 0.02, 0.20, 0.035))    # left tail into the QRS
    for p in (wide_p, wide_t):
        fid = wave_fiducials(p[:-1][None, :], WAVES)
        assert fid["P_off"][0] <= fid["QRS_on"][0]
        assert fid["T_on"][0] >= fid["QRS_off"][0]
    fid = wave_fiducials(wide_p[:-1][None, :], WAVES)
    assert fid["P_off"][0] == fid["QRS_on"][0]             # the clamp did act


def test_inverted_t_has_its_own_rule():
    """A negative T starts at the end of its plateau (plus the calibrated shift) and
    ends by the usual rule; an upright T of the same shape keeps the usual rule; with a
    second T lobe the lobes keep the usual rule (biphasic T)."""
    shape = (0.27, 0.06, 0.05, 0.04)                  # center, half-width, sigmas (s)
    up = wave_fiducials(_beat(T=(0.3,) + shape)[:-1][None, :], WAVES)
    down = wave_fiducials(_beat(T=(-0.3,) + shape)[:-1][None, :], WAVES)
    c, h, sl, sr = shape
    (f_on, s_on), (f_off, s_off) = RULE["T_on"], RULE["T_off"]
    assert up["T_on"][0] == pytest.approx(c - h - sl * reach(f_on) + s_on)
    assert up["T_off"][0] == pytest.approx(c + h + sr * reach(f_off) + s_off)
    assert RULE["T_on_inverted"][0] is None
    assert down["T_on"][0] == pytest.approx(c + h + RULE["T_on_inverted"][1])
    assert down["T_off"][0] == pytest.approx(up["T_off"][0])
    assert down["T_on"][0] > up["T_on"][0] + 0.1       # cardiologists start it later
    two = np.concatenate([_beat(T=(-0.3,) + shape)[:-1], [0.2, 0.45, 0.0, 0.03, 0.03]])
    lobes = wave_fiducials(two[None, :], WAVES + ("T2",))
    assert lobes["T_on"][0] == pytest.approx(up["T_on"][0])


def test_template_start_prefers_a_p_that_ends_before_the_qrs():
    apart = _beat()[:25]
    sag = _beat(P=(-0.05, -0.07, 0.02, 0.02, 0.01))[:25]  # negative plateau up to the QRS
    params, cost = np.stack([sag, apart]), np.array([1.0, 1.3])
    qrs_on = -0.05
    assert best_start(params, cost, WAVES, qrs_on, -0.4) == 1
    assert best_start(params, cost, WAVES, np.nan, -0.4) == 0     # no onset: cost only
    # a P starting before the window is no better than the sag: cost decides
    early = _beat(P=(0.1, -0.37, 0.0, 0.05, 0.02))[:25]
    assert best_start(np.stack([sag, early]), cost, WAVES, qrs_on, -0.4) == 0
    # nor is a 'P wave' longer than P_LONGEST (a broad baseline feature)
    long = _beat(P=(0.05, -0.21, 0.07, 0.08, 0.02))[:25]
    fid = wave_fiducials(long[None, :], WAVES)
    assert fid["P_off"][0] <= qrs_on - PR_SEGMENT_MIN
    assert fid["P_off"][0] - fid["P_on"][0] > P_LONGEST
    assert best_start(np.stack([long, apart]), cost, WAVES, qrs_on, -0.4) == 1


def test_best_start_per_beat_matches_one_at_a_time():
    apart = _beat()[:25]
    sag = _beat(P=(-0.05, -0.07, 0.02, 0.02, 0.01))[:25]
    first = np.stack([sag, apart, apart])                 # three beats, two starts each
    second = np.stack([apart, sag, apart])
    cost = np.array([[1.0, 1.0, 2.0], [1.3, 0.5, 1.0]])
    qrs_on = np.array([-0.05, -0.05, np.nan])
    got = best_start(np.stack([first, second]), cost, WAVES, qrs_on, -0.4)
    one = [best_start(np.stack([first[i], second[i]]), cost[:, i], WAVES, qrs_on[i], -0.4)
           for i in range(3)]
    assert list(got) == one == [1, 0, 1]


def test_p_is_wave_by_its_place():
    rows = np.stack([_beat()[:25],                                    # typical P
                     _beat(P=(-0.05, -0.07, 0.02, 0.02, 0.01))[:25],  # runs into the QRS
                     _beat(P=(0.1, -0.37, 0.0, 0.05, 0.02))[:25]])    # starts before window
    assert list(p_is_wave(rows, WAVES, -0.05, -0.4)) == [True, False, False]
    assert not p_is_wave(rows, WAVES, np.nan, -0.4).any()


def test_steady_p_needs_one_place_one_sign_and_most_beats():
    rng = np.random.default_rng(2)
    n = 40
    every = np.ones(n, bool)
    center = -0.165 + 0.008 * rng.standard_normal(n)
    amp = 0.03 + 0.008 * rng.standard_normal(n)
    assert steady_p(amp, center, every, n).mean() > 0.9
    assert not steady_p(amp, rng.uniform(-0.40, -0.08, n), every, n).any()  # wandering
    signs = np.where(np.arange(n) % 2, 1.0, -1.0)
    assert not steady_p(signs * amp, center, every, n).any()       # mean amplitude ~ 0
    few = np.arange(n) < 0.4 * n                                     # most beats lack it
    assert not steady_p(amp, center, few, n).any()
    assert steady_p(amp, center, few, int(0.8 * n)).any()


def test_small_p_of_a_steady_rhythm_found_without_the_template():
    """Beats whose P (0.04 mV) stays below their own evidence and whose template is too
    misfit to vouch for it: P counts through its steady place and sign, given the QRS
    onset, and not where it runs into the QRS."""
    t = T[::4]
    n = 30
    rng = np.random.default_rng(5)
    rows = [np.concatenate([_beat(P=(0.04 + 0.004 * rng.standard_normal(),
                                     -0.165 + 0.005 * rng.standard_normal(),
                                     0.01, 0.022, 0.020))[:-1], [0.0]]) for _ in range(n)]
    params = np.array(rows)
    args = (np.tile(t, (n, 1)), params, np.full(n, t.size), np.ones(n, bool),
            np.full(n, 0.03 ** 2), np.full(n, 0.03), np.full(n, 0.8), WAVES, 0.32, 2.0, 0.06)
    assert not wave_presence(*args)[0]["P"].any()                   # no evidence per beat
    assert wave_presence(*args, qrs_on=np.full(n, -0.05))[0]["P"].all()
    # an irregular rhythm (sinus arrhythmia, AV block) with such a steady P keeps it
    irregular = args[:6] + (rng.uniform(0.6, 1.4, n),) + args[7:]
    assert wave_presence(*irregular, qrs_on=np.full(n, -0.05))[0]["P"].all()
    late = params.copy()
    late[:, 1] = -0.07                                                # P into the QRS
    late_args = (args[0], late) + args[2:]
    assert not wave_presence(*late_args, qrs_on=np.full(n, -0.05))[0]["P"].any()


def test_the_record_model_choice_p_absent_takes_every_p_away():
    """A P of 0.1 mV that every beat shows on its own: gone, with the reason, when the
    record's model choice says P absent; kept when it says P is there."""
    t = T[::4]
    n = 10
    params = np.tile(np.concatenate([_beat(P=(0.1,) + TYPICAL_BEAT["P"][1:])[:-1], [0.0]]),
                     (n, 1))
    args = (np.tile(t, (n, 1)), params, np.full(n, t.size), np.ones(n, bool),
            np.full(n, 0.005 ** 2), np.full(n, 0.005), np.full(n, 0.8), WAVES, 0.32, 2.0,
            0.06)
    tmpl = TemplateFit(t, params[0], 0.005 ** 2, 0.005)
    assert wave_presence(*args, template=tmpl)[0]["P"].all()
    there = tmpl._replace(choice={"hypothesis": {"P": "free"}})
    assert wave_presence(*args, template=there)[0]["P"].all()
    absent = tmpl._replace(choice={"hypothesis": {"P": "absent"}, "chosen": "P absent",
                                   "factor_margins": {"P": 42.0}})
    present, note = wave_presence(*args, template=absent)
    assert not present["P"].any() and "model choice" in note and "42" in note
    assert present["T"].all()                                         # T untouched


def test_fibrillation_waves_near_one_place_in_a_few_beats_are_no_p():
    """Irregular rhythm: 'P' components with evidence, 6 of 20 beats near one place, the
    rest wandering: no P wave anywhere (half the fitted beats would be needed)."""
    rng = np.random.default_rng(3)
    n = 20
    center = np.concatenate([np.full(6, -0.15), np.linspace(-0.40, -0.24, n - 6)])
    present = np.ones(n, bool)
    rr = rng.uniform(0.5, 1.1, n)
    got, reason = consistent_p(center, present, rr, 0.06, np.full(n, 0.05), n)
    assert not got.any() and "irregular rhythm" in reason
    regular = np.full(n, 0.8)
    assert consistent_p(center, present, regular, 0.06, np.full(n, 0.05), n)[0].sum() >= 6


def _p_rows(atrial, n=12, seed=4):
    """``n`` beats on the grid ``T`` (s from R): the typical beat without its P, plus
    ``atrial(k, rng)`` (mV) and 0.01 mV of noise; (X, Y, template)."""
    rng = np.random.default_rng(seed)
    vec = _beat()
    no_p = vec.copy()
    no_p[0] = 0.0
    Y = np.array([gmesa.mesa_sum(T, no_p) + atrial(k, rng) + 0.01 * rng.standard_normal(T.size)
                  for k in range(n)])
    X = np.tile(T, (n, 1))
    template = TemplateFit(T, vec, 1e-4, 0.01)
    return X, Y, template


def test_p_lock_tells_a_locked_p_from_fibrillation_waves():
    """A P wave at its place in every beat is locked (mean coefficient many SDs); 6 Hz
    fibrillation waves of the same size at a random phase per beat are not."""
    p = TYPICAL_BEAT["P"]
    sinus = _p_rows(lambda k, rng: gmesa.gmf(T, p[0] * rng.uniform(0.8, 1.2), *p[1:]))
    fib = _p_rows(lambda k, rng: p[0] * np.sin(2 * np.pi * 6.0 * T + rng.uniform(0, 2 * np.pi)))
    good = np.ones(12, bool)
    assert p_lock(*sinus[:2], good, sinus[2], WAVES) > 2 * P_LOCK
    assert abs(p_lock(*fib[:2], good, fib[2], WAVES)) < P_LOCK
    few = np.zeros(12, bool)
    few[:2] = True
    assert np.isnan(p_lock(*sinus[:2], few, sinus[2], WAVES))
    # a beat with masked samples inside the P (its row holds the others, shifted) is
    # left out, not read at the wrong times
    X, Y = sinus[0].copy(), sinus[1].copy()
    gap = np.flatnonzero((T > -0.2) & (T < -0.18))
    X[0] = np.concatenate([np.delete(X[0], gap), np.full(gap.size, X[0, -1])])
    Y[0] = np.concatenate([np.delete(Y[0], gap), np.zeros(gap.size)])
    rest = good.copy()
    rest[0] = False
    assert p_lock(X, Y, good, sinus[2], WAVES) == p_lock(*sinus[:2], rest, sinus[2], WAVES)


def test_p_lock_is_the_bound_the_beats_show():
    """The lock is the lower confidence bound of the coefficients' mean over their SD: a
    P whose size scatters by 40% (mean / SD about 2.5) is not shown locked by 7 beats,
    and is by 120."""
    p = TYPICAL_BEAT["P"]
    rows = _p_rows(lambda k, rng: gmesa.gmf(T, p[0] * rng.normal(1.0, 0.4), *p[1:]), n=120)
    few, many = np.zeros(120, bool), np.ones(120, bool)
    few[:7] = True
    lock_few, lock_many = (p_lock(*rows[:2], g, rows[2], WAVES) for g in (few, many))
    assert lock_few < P_LOCK < lock_many


def test_rr_jumps_irregularly_irregular_not_sinus_arrhythmia():
    """Sinus arrhythmia drifts (RR 0.8 +- 15% over a breath): small jumps; atrial
    fibrillation jumps from beat to beat."""
    drift = 0.8 + 0.13 * np.sin(np.arange(30) * 2 * np.pi / 14)
    assert rr_variation(drift) > 0.1 and rr_jumps(drift) < 0.1
    jumpy = np.random.default_rng(2).uniform(0.5, 1.1, 30)
    assert rr_jumps(jumpy) > 0.2
    assert rr_jumps(np.array([0.8, np.nan])) == 0.0


def test_irregular_rhythm_without_a_locked_p_has_no_p():
    """P components at one place in every beat (so consistent) but an irregularly
    irregular rhythm and a P not locked to the QRS: no P wave (atrial fibrillation);
    locked, they stay; with a steady rhythm the lock is not asked for."""
    n = 20
    center = np.full(n, -0.15)
    present = np.ones(n, bool)
    jumpy = np.random.default_rng(5).uniform(0.5, 1.1, n)
    amp = np.full(n, 0.05)
    got, reason = consistent_p(center, present, jumpy, 0.06, amp, n, lambda: 0.5)
    assert not got.any() and "locked" in reason
    assert consistent_p(center, present, jumpy, 0.06, amp, n, lambda: 8.0)[0].all()
    assert consistent_p(center, present, np.full(n, 0.8), 0.06, amp, n, lambda: 0.5)[0].all()


def test_p_waves_in_few_beats_of_a_regular_rhythm_ask_for_the_lock():
    """A regular rhythm whose 'P' sits at one place in 6 of 20 beats (dissociated sinus P
    waves before paced QRS complexes): no P wave unless the template's P is locked to
    the QRS; the reason names the share, not an irregular rhythm."""
    n = 20
    center = np.concatenate([np.full(6, -0.15), np.linspace(-0.40, -0.24, n - 6)])
    present = np.ones(n, bool)
    regular = np.full(n, 0.8)
    amp = np.full(n, 0.05)
    got, reason = consistent_p(center, present, regular, 0.06, amp, n, lambda: 0.5)
    assert not got.any() and "30% of the beats" in reason and "irregular" not in reason
    assert consistent_p(center, present, regular, 0.06, amp, n, lambda: 8.0)[0].sum() == 6


def _dissociated(atrial_hr, seed, fs=500.0):
    """A regular ventricular rhythm (64/min) without conducted P waves and sinus P waves at
    ``atrial_hr`` of their own (complete AV block)."""
    beat = np.array([v for w in WAVES for v in TYPICAL_BEAT[w]] + [0.0])
    p = beat[:5].copy()
    beat[0] = 0.0
    syn = ecg.synthesize(duration=30, fs=fs, heart_rate=64, beat=beat[:-1], seed=seed,
                         snr_db=30)
    x = np.asarray(syn.record.signal, float).ravel().copy()
    t = np.arange(x.size) / fs
    for c in np.arange(0.37, t[-1], 60.0 / atrial_hr):
        x += gmesa.gmf(t, p[0], c, p[2], p[3], p[4])
    return ecg.Record(x[:, None], fs, leads=("ii",))


@pytest.mark.parametrize("atrial_hr, seed", [(83.0, 4), (120.0, 5)])
def test_dissociated_p_waves_are_not_reported(atrial_hr, seed):
    """Complete AV block: P waves march through the beats at their own rate; no beat
    reports one (no PR interval), and the reason says why."""
    beats = ecg.fit_record(_dissociated(atrial_hr, seed)).beats
    ok = (beats["status"] == "ok").to_numpy()
    assert ok.sum() >= 28
    assert beats["P_present"][ok].sum() == 0 and beats["pr_ms"][ok].isna().all()
    assert beats["reason"][ok].str.contains("locked to the QRS").mean() > 0.9


def _with_ectopic_qrs(n=48, rr=0.8, sag=-0.15, p=0.08, seed=1):
    """Beats with a small P (mV ``p``) and, just before the QRS, a larger PR-segment sag
    running into it; every fourth beat has another QRS (wide R, deep S)."""
    t = np.arange(int((n + 1) * rr * FS)) / FS
    rows = {w: list(TYPICAL_BEAT[w]) for w in WAVES}
    rows["P"][0] = p
    other = dict(rows, R=[0.6, 0.0, 0.0, 0.02, 0.02], S=[-0.9, 0.04, 0.0, 0.012, 0.02])
    sig = 0.005 * np.random.default_rng(seed).standard_normal(t.size)
    for k in range(n):
        r = (k + 0.6) * rr
        vec = np.array([v for w in WAVES for v in (other if k % 4 == 3 else rows)[w]] + [0.0])
        vec[1:25:5] += r
        sig += gmesa.mesa_sum(t, vec) + gmesa.gmf(t, sag, r - 0.07, 0.015, 0.01, 0.01)
    return ecg.Record(sig, FS)


def test_beats_unlike_the_template_start_their_p_from_it_too(monkeypatch):
    """The beats with the other QRS are fitted from their own guess, whose P starts on the
    sag; their second start from the template's P finds the P (center -0.165 s)."""
    rec = _with_ectopic_qrs()

    def found(b):
        own = b["start"] == "own"
        return own.sum(), (own & b["P_present"] & (np.abs(b["P_center"] + 0.165) < 0.02)).sum()

    n_own, n_found = found(ecg.fit_record(rec).beats)
    assert n_own >= 10 and n_found == n_own
    monkeypatch.setattr("gmesa.ecg.beatmodel.refit_better", lambda *a: None)
    assert found(ecg.fit_record(rec).beats)[1] <= n_own // 2        # one start is not enough


def test_small_p_in_noise_found_through_the_template():
    """P of 0.05 mV in noise where fewer than half the beats pass the per-beat test on
    their own: the template's P carries it to (almost) every beat."""
    beat = _beat(P=(0.05,) + TYPICAL_BEAT["P"][1:])[:-1]
    syn = ecg.synthesize(duration=30, fs=500, heart_rate=80, noise=0.1, seed=4, beat=beat,
                         variability=0.0)
    b = ecg.fit_record(syn.record).beats
    ok = b["status"] == "ok"
    # the per-beat test is made on the fit that decides presence: without the P prior
    # (the P of the beats found to have one is then fitted again with it, p_shape.py)
    first = ecg.fit_record(syn.record, p_shape_prior=False).beats
    own = (np.abs(first["P_amplitude"]) > 2 * first["rmse"])[ok].mean()
    assert own < 0.6 and b.loc[ok, "P_present"].mean() > 0.85


def test_template_noise_from_the_beats_spread():
    """The noise left in the median beat: the beats' spread around it, over N beats."""
    rng = np.random.default_rng(0)
    n, sigma = 60, 0.05
    one = gmesa.mesa_sum(T, _beat())
    r = (0.5 + np.arange(n)) * T.size
    sig = np.tile(one, n) + sigma * rng.standard_normal(n * T.size)
    r = (r + round(0.4 * FS)).astype(np.int64)[:-1]
    start, end, _, _ = beat_windows(r, sig.size, FS)
    t, y, noise2 = median_beat(sig, r, start, end, np.ones(r.size, bool), FS)
    expected = sigma ** 2 * np.pi / 2 / (r.size - 1)
    assert 0.75 < noise2 / expected < 1.33, (noise2, expected)


def test_template_p_judged_against_noise_not_misfit():
    """A template whose residual is the model's misfit (0.018 mV), not noise: its P of
    0.04 mV stands out of the misfit and passes the BIC test against the template's noise
    (not against the misfit), and carries beats whose own P fails (residual 0.03 mV);
    noise low-passed to 0.32 of Nyquist (40 Hz at 250 Hz)."""
    t = T[::4]
    tp = _beat(P=(0.04,) + TYPICAL_BEAT["P"][1:])[:-1]
    n = 30
    params = np.tile(np.concatenate([tp, [0.0]]), (n, 1))
    X = np.tile(t, (n, 1))
    args = (X, params, np.full(n, t.size), np.ones(n, bool), np.full(n, 0.03 ** 2),
            np.full(n, 0.03), np.full(n, 0.8), WAVES, 0.32, 2.0, 0.06)
    misfit = TemplateFit(t, params[0], 0.018 ** 2, 0.018)
    assert not wave_presence(*args, template=misfit)[0]["P"].any()
    noisy = misfit._replace(noise2=0.003 ** 2)
    assert wave_presence(*args, template=noisy)[0]["P"].all()
    bump_in_misfit = noisy._replace(rmse=0.025)            # the P does not stand out
    assert not wave_presence(*args, template=bump_in_misfit)[0]["P"].any()


# ---------------------------------------------------------------------------------
# U wave
# ---------------------------------------------------------------------------------
def _with_u_wave(syn, amplitude=0.18, center=0.52, until=np.inf):
    """The synthetic record plus a U wave (mV, s after each R peak before ``until`` s)."""
    fs = syn.record.fs
    t = np.arange(syn.record.signal.size) / fs
    sig = syn.record.signal.copy()
    for r in syn.truth["r_peak_s"][syn.truth["r_peak_s"] < until]:
        sig += gmesa.gmf(t, amplitude, r + center, 0.0, 0.04, 0.04)
    return ecg.Record(sig, fs, name="with_u")


def test_joint_table_says_where_a_u_wave_is():
    """Two leads of the U-wave record: the joint model's table says U_present, as one
    lead's does."""
    beat = _beat(T=(0.12,) + TYPICAL_BEAT["T"][1:])[:-1]
    syn = ecg.synthesize(duration=30, fs=500, heart_rate=55, noise=0.01, wander=0.0,
                         seed=3, beat=beat, variability=0.0)
    one = _with_u_wave(syn)
    rec = ecg.Record(np.column_stack([one.signal, 0.7 * one.signal]), one.fs,
                     leads=("a", "b"), name="with_u_2")
    b = ecg.fit_leads(rec, primary="a").beats
    ok = b["status"] == "ok"
    assert "U_present" in b and b.loc[ok, "U_present"].mean() > 0.9


def test_late_u_wave_is_not_taken_for_t():
    """A low T (0.12 mV at 0.27 s) followed by a larger U wave (0.18 mV at 0.52 s):
    without a U component the fit takes the U for T; with u_wave="auto" the template's
    late T adds a U component and T is found where it is."""
    beat = _beat(T=(0.12,) + TYPICAL_BEAT["T"][1:])[:-1]
    syn = ecg.synthesize(duration=40, fs=500, heart_rate=55, noise=0.01, wander=0.0,
                         seed=3, beat=beat, variability=0.0)
    rec = _with_u_wave(syn)
    plain = ecg.fit_record(rec, u_wave=False).beats
    ok = plain["status"] == "ok"
    assert plain.loc[ok, "T_center"].median() > 0.43          # the U taken for T
    fit = ecg.fit_record(rec)
    assert "U" in fit.waves and fit.info["waves"][-1] == "U"
    b = fit.beats
    ok = b["status"] == "ok"
    assert b.loc[ok, "U_present"].mean() > 0.9
    assert abs(b.loc[ok, "U_center"].median() - 0.52) < 0.02
    i = np.searchsorted(syn.truth["r_peak_s"], b["r_peak_s"] - 0.01)
    # the peak exactly; the edges within 25 ms (the ST step takes some of the low T's
    # rise beside a U wave: T on comes about 18 ms late, T off 8 ms early)
    for col, tol_ms in (("T_peak_s", 5.0), ("T_on_s", 25.0), ("T_off_s", 25.0)):
        err_ms = np.abs(b[col] - syn.truth[col].to_numpy()[i])[ok] * 1e3
        assert np.nanmedian(err_ms) < tol_ms, (col, np.nanmedian(err_ms))
    # the same record without the U wave keeps the five waves
    assert "U" not in ecg.fit_record(syn.record).waves


def test_u_wave_options_and_bounds():
    with pytest.raises(ValueError, match="u_wave"):
        ecg.fit_record(ecg.Record(np.zeros(5000), 500.0), u_wave="yes")
    with pytest.raises(ValueError, match="U wave needs the T"):
        ecg.fit_record(ecg.Record(np.zeros(5000), 500.0), waves=("R", "U"))
    names = WAVES + ("U",)
    lo, hi = bounds(names, 1.0, -0.4, 0.7, t_latest=0.45)
    t, u = 5 * names.index("T") + 1, 5 * names.index("U") + 1
    assert hi[t] == pytest.approx(0.45) and lo[u] == pytest.approx(0.45)
    lo5, hi5 = bounds(WAVES, 1.0, -0.4, 0.7, t_latest=0.45)   # no U: T keeps its range
    assert hi5[t] > 0.6


def test_u_wave_decided_per_stretch_of_a_chunked_record():
    """The first chunk (60 s) shows a U wave, the later ones do not: each stretch's
    template decides (the first models U, the later stretch not), and the table keeps
    one set of columns (no U there: amplitude 0, not present)."""
    beat = _beat(T=(0.12,) + TYPICAL_BEAT["T"][1:])[:-1]
    syn = ecg.synthesize(duration=180, fs=250, heart_rate=55, noise=0.01, wander=0.0,
                         seed=5, beat=beat, variability=0.0)
    fit = ecg.fit_record(_with_u_wave(syn, until=55.0), chunk_s=60)
    b = fit.beats
    assert "U" in fit.waves and fit.params.shape == (len(b), len(fit.param_names))
    ok = b["status"] == "ok"
    early, late = b["r_peak_s"] < 50, b["r_peak_s"] > 75
    assert b.loc[early & ok, "U_present"].mean() > 0.9
    assert late.sum() > 40 and (b.loc[late & ok, "U_amplitude"] == 0.0).all()
    assert not b.loc[late, "U_present"].any()
    # the second chunk's median beat (no U) is not the first's: its beats choose again,
    # without a U wave, and the third chunk keeps that choice
    parts = [(s["n_chunks"], s["hypothesis"]["U"]) for s in fit.info["model_choice"]["stretches"]]
    assert parts == [(1, True), (2, False)]



def test_in_layout_copies_by_label_and_adds_a_null_component():
    """Parameters of one model in a larger one (a chunk without U in a record that has
    one): shared labels copied, the missing wave adds exactly nothing, unfitted rows NaN."""
    from gmesa.core import Layout, mesa_sum
    from gmesa.ecg.waves import in_layout

    small = Layout(("P", "Q", "R", "S", "T"), ("ST",), "linear")
    big = Layout(("P", "Q", "R", "S", "T", "U"), ("ST",), "linear")
    rows = np.vstack([np.arange(small.size, dtype=float) + 1.0, np.full(small.size, np.nan)])
    out = in_layout(rows, small, big)
    assert out.shape == (2, big.size) and np.all(np.isnan(out[1]))
    for j, label in enumerate(small.labels):
        assert out[0, big.labels.index(label)] == rows[0, j]
    x = np.linspace(-0.5, 1.0, 400)
    assert np.all(mesa_sum(x, out[0, big.wave("U")], baseline="none") == 0.0)
