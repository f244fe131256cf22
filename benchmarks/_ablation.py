"""Decision rules of the ECG pipeline taken out one at a time, to measure what each is
worth (``benchmarks/rule_ablation.py``, ``delineation.py --ablate``; docs/results.md,
session 30).  Diagnostics only: a rule is replaced by a no-op in the module that calls
it, or switched off through a :class:`~gmesa.ecg.FitOptions` field.  The rules to take
out travel in the environment (:data:`ENV`), so worker processes take them out too.
"""
from __future__ import annotations

import os

import numpy as np

#: the environment variable naming the rules taken out (comma list)
ENV = "GMESA_ABLATE"


def _none_unlike(fit, template_vec, beats, bw):
    return np.full(len(fit.params), "", dtype=object)


def _nothing(*args, **kwargs):
    return None


def _no_beats(amp, *args, **kwargs):
    return np.zeros(np.shape(amp), dtype=bool)


def _patch(module, name, value):
    import importlib
    setattr(importlib.import_module(f"gmesa.ecg.{module}"), name, value)


#: rule: (what it is, module of gmesa.ecg, attribute, its replacement)
PATCHES = {
    "identity": ("the template's wave identity (identity.follow_template)",
                 "fit", "follow_template", _none_unlike),
    "second_starts": ("the second starts (beatmodel.second_starts)",
                      "fit", "second_starts", _nothing),
    "restart": ("the restart of misfit beats (beatmodel.restart_misfits)",
                "fit", "restart_misfits", _nothing),
    "steady_p": ("the steady-rhythm P (presence.steady_p)", "presence", "steady_p", _no_beats),
    "template_p": ("the template's P (presence.like_template_p)",
                   "presence", "like_template_p", _no_beats),
    "irregular": ("the irregular-rhythm tests of consistent_p (RR CV and jumps)",
                  "presence", ("rr_variation", "rr_jumps"), lambda rr: 0.0),
    "p_lock": ("the P lock (presence.p_lock)", "presence", "p_lock",
               lambda *a, **k: np.inf),
    "p_floor": ("the 2%-of-R floor of a P (presence.P_MIN_OF_R = 0)",
                "presence", "P_MIN_OF_R", 0.0),
    "window_edge": ("the window-edge check (beats.window_edge_check)",
                    "fit", "window_edge_check", _nothing),
}

#: rule: (what it is, FitOptions field, its value without the rule)
OPTIONS = {
    "u_wave": ("the U wave", "u_wave", False),
    "t_lobe": ("the terminal T lobe", "t_lobe", False),
    "r_prime": ("the R'", "r_prime", False),
    "overlap": ("the overlap of fast beats", "overlap", False),
    "p_shape": ("the P shape by MAP", "p_shape_prior", False),
    "signal_onset": ("the QRS onset from the signal where the model misfits",
                     "signal_onset", False),
    "t_choice": ("the record-level T choice", "model_choice", ()),
    "pacing": ("the pacing spikes", "pacing_spikes", False),
    "artefacts": ("the glitch and clipping masks", "artefacts", False),
    "spread": ("the template's split-half spread", "template_spread", False),
}

#: every rule that can be taken out, in the order the table lists them
RULES = tuple(PATCHES) + tuple(OPTIONS)

#: rule: the code that is there for it alone (``benchmarks/_codelines.py`` parts: a module
#: of gmesa.ecg or "module:function"); the few lines that call it are not counted, and
#: the 2%-of-R floor is a constant and two tests inside other functions
CODE = {
    "identity": ("identity",),
    "second_starts": ("beatmodel:second_starts",),
    "restart": ("beatmodel:restart_misfits",),
    "steady_p": ("presence:steady_p",),
    "template_p": ("presence:like_template_p",),
    "irregular": ("presence:rr_variation", "presence:rr_jumps"),
    "p_lock": ("presence:p_lock",),
    "p_floor": (),
    "window_edge": ("beats:window_edge_check",),
    "u_wave": ("template:with_u_wave",),
    "t_lobe": ("template:with_t_lobe", "template:_qtc", "beatmodel:lobe_bounds"),
    "r_prime": ("template:with_r_prime", "template:qrs_misfit", "rprime"),
    "overlap": ("overlap", "periodic"),
    "p_shape": ("p_shape",),
    "signal_onset": ("beatmodel:misfit_qrs_onset",),
    "t_choice": ("choice",),
    "pacing": ("pacing",),
    "artefacts": ("artefacts",),
    "spread": ("spread",),
}


def code_of(*rules):
    """(code lines of the ``rules``' own code, how many of them lie in the modules that
    decide waves, :data:`benchmarks._codelines.DECIDING`), each line counted once."""
    from benchmarks._codelines import DECIDING, code_lines
    parts = [p for rule in rules for p in CODE[rule]]
    inside = [p for p in parts if p.partition(":")[0] in DECIDING]
    return code_lines(*parts), code_lines(*inside)


def check(names):
    """Raise ValueError naming the unknown rules among ``names``."""
    unknown = [n for n in names if n not in RULES]
    if unknown:
        raise ValueError(f"unknown rule(s) {unknown}; choose from {', '.join(RULES)}")


def apply(names):
    """Take out the rules ``names`` in this process (and set :data:`ENV` for its
    children)."""
    names = [n for n in names if n]
    check(names)
    os.environ[ENV] = ",".join(names)
    fields = {}
    for n in names:
        if n in PATCHES:
            _, module, attrs, value = PATCHES[n]
            for attr in (attrs,) if isinstance(attrs, str) else attrs:
                _patch(module, attr, value)
        else:
            fields[OPTIONS[n][1]] = OPTIONS[n][2]
    if fields:
        from gmesa.ecg.options import FitOptions
        post = getattr(FitOptions, "_unablated", FitOptions.__post_init__)

        def without(self):
            for field, value in fields.items():
                setattr(self, field, value)
            post(self)

        FitOptions._unablated = post  # a second apply() wraps the original, not the wrapper
        FitOptions.__post_init__ = without


def from_env():
    """:func:`apply` the rules named in :data:`ENV` (a worker process's start)."""
    names = os.environ.get(ENV, "")
    if names:
        apply(names.split(","))
