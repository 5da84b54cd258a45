"""The served predictive entropy and mutual information against closed forms."""

import numpy as np
import pytest

from bgan_tf import serving

LOG2 = np.log(2.0)


def _summary(per_sample_probs):
  """`posterior_predictive_summary` as numpy arrays (it computes in float32, hence atol 1e-6)."""
  return {k: v.numpy() for k, v in serving.posterior_predictive_summary(per_sample_probs).items()}


def test_predictive_entropy():
  probs = np.array([[0.25] * 4, [1.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0]])
  # One posterior sample (T = 1): the entropy of each row itself.
  entropy = _summary(probs[:, None, :])["predictive_entropy"]
  np.testing.assert_allclose(entropy, [np.log(4), 0.0, LOG2], atol=1e-6)


def test_mutual_information_is_zero_when_samples_agree():
  one = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
  per_sample = np.repeat(one[:, None, :], 5, axis=1)  # [n=2, T=5, K=3]
  info = _summary(per_sample)["mutual_information"]
  assert info.shape == (2,)
  np.testing.assert_allclose(info, 0.0, atol=1e-6)


def test_mutual_information_is_positive_when_samples_disagree():
  # Two confident samples that disagree: the whole log 2 of the averaged
  # prediction's entropy is epistemic.
  per_sample = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.6, 0.4], [0.4, 0.6]]])
  info = _summary(per_sample)["mutual_information"]
  assert info[0] == pytest.approx(LOG2, abs=1e-6)
  h = lambda p: -np.sum(p * np.log(p))  # noqa: E731
  assert info[1] == pytest.approx(LOG2 - h(np.array([0.6, 0.4])), abs=1e-6)
  assert info[1] > 0
