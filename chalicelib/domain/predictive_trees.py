"""Gradient-boosted tree ensembles as plain JSON, scored and explained with the standard library.

A trained ensemble (``chalicelib/domain/predictive_trees_training.py`` exports it) is a list of fields
(numeric, or categorical with their levels) and a list of trees. Each tree is a list of nodes; node 0
is the root and a child always comes after its parent:

- a split ``[feature, split, missing_left, left, right, cover]``: ``split`` is a threshold (a number:
  values ``<=`` it go left) for a numeric field, or the list of level indices that go left for a
  categorical one; an absent value goes left when ``missing_left`` is 1; ``cover`` is the number of
  training leads that reached the node;
- a leaf ``[value, cover]``: the log-odds this tree adds.

The logit is ``base_score`` plus one leaf value per tree. A lead's value the model cannot read (text in
a numeric field, a list, an object) is *unknown*: every split on that field sends the lead down both
sides in proportion to the training leads that went each way, so the unknown field contributes exactly
0 and the score is what the model expects over the values it might have had.

**Explanations** are path-dependent TreeSHAP (Lundberg et al., 2020): the Shapley values of the game
``v(S) = E[f(x) | x_S]`` in which the expectation follows the trees' training covers. The lines of a
breakdown are one value per field; with the expected value (``baseline``) they add up to the logit.

**Speed.** Each leaf's share of the game depends only on the fields on its path. The trainer grows
trees whose paths hold at most two distinct fields (interaction constraints), so at load time every
leaf's exact contributions are added into tables indexed by the value bins of its one or two fields
(:class:`CompiledEnsemble`); scoring a lead is then one bin lookup per field and one table lookup per
pair of fields the ensemble uses, which is what lets pure Python explain 10,000+ leads a second. Trees
with longer paths (a model built elsewhere) are explained by the general recursive algorithm
(:func:`tree_shap`), slower but the same numbers; the tests hold the tables to it, to a brute-force
Shapley computation, and to LightGBM's ``pred_contrib``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.rules import Compiler, as_number, finite

MISSING = "(missing)"
OTHER = "(other)"
NUMERIC = "numeric"
CATEGORICAL = "categorical"
ALGORITHM = "trees"


def _is_absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _is_count(path: str) -> bool:
    return path.startswith("interactions.") and path.endswith(".count")


def _level(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list | set | tuple):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip().casefold()[:64]
    return text or None


def _number(path: str, value: Any) -> float | None:
    if value is None and _is_count(path):
        return 0.0
    if isinstance(value, bool):
        return None
    return as_number(value)


@dataclass(frozen=True)
class TreeFeature:
    """A field the trees split on: a number, or one of ``levels`` (``(other)``: any level not listed)."""

    path: str
    kind: str
    levels: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"field": self.path, "kind": self.kind}
        if self.kind == CATEGORICAL:
            entry["levels"] = list(self.levels)
        return entry

    def code(self, value: Any) -> float | int | str:
        """The value as the trees read it: a number (numeric) or a level index (categorical); else
        ``MISSING`` (absent) or ``UNKNOWN`` (present but unreadable: no number, a list, an object, a
        level never seen when no ``(other)`` level was learnt)."""
        if self.kind == NUMERIC:
            number = _number(self.path, value)
            if number is not None:
                return number
            return MISSING if _is_absent(value) else UNKNOWN
        if _is_absent(value):
            return MISSING
        level = _level(value)
        if level is None:
            return UNKNOWN
        index = self.index.get(level)
        if index is None:
            index = self.index.get(OTHER)
        return UNKNOWN if index is None else index

    @property
    def index(self) -> dict[str, int]:
        return _level_index(self.levels)


UNKNOWN = "?"

_INDEXES: dict[tuple[str, ...], dict[str, int]] = {}


def _level_index(levels: tuple[str, ...]) -> dict[str, int]:
    found = _INDEXES.get(levels)
    if found is None:
        found = _INDEXES[levels] = {level: i for i, level in enumerate(levels)}
    return found


@dataclass(frozen=True)
class Split:
    feature: int
    threshold: float | None  # numeric
    left_levels: frozenset[int] | None  # categorical
    missing_left: bool
    left: int
    right: int
    cover: float


@dataclass(frozen=True)
class Leaf:
    value: float
    cover: float


Node = Split | Leaf


@dataclass(frozen=True)
class Tree:
    nodes: tuple[Node, ...]

    def goes_left(self, node: Split, code: float | int | str) -> bool | None:
        """Which way a lead's coded value goes at ``node`` (``None``: unknown, both ways)."""
        if code == UNKNOWN:
            return None
        if code == MISSING:
            return node.missing_left
        if node.left_levels is not None:
            return code in node.left_levels
        return float(code) <= (node.threshold if node.threshold is not None else math.inf)

    def value(self, codes: Sequence[float | int | str], index: int = 0) -> float:
        """The tree's output; an unknown value averages both sides by their covers."""
        node = self.nodes[index]
        if isinstance(node, Leaf):
            return node.value
        way = self.goes_left(node, codes[node.feature])
        if way is None:
            left, right = self.nodes[node.left], self.nodes[node.right]
            return (
                left.cover * self.value(codes, node.left) + right.cover * self.value(codes, node.right)
            ) / (left.cover + right.cover)
        return self.value(codes, node.left if way else node.right)

    def expected_value(self, index: int = 0) -> float:
        node = self.nodes[index]
        if isinstance(node, Leaf):
            return node.value
        left, right = self.nodes[node.left], self.nodes[node.right]
        return (
            left.cover * self.expected_value(node.left) + right.cover * self.expected_value(node.right)
        ) / (left.cover + right.cover)

    def as_list(self) -> list[list[Any]]:
        out: list[list[Any]] = []
        for node in self.nodes:
            if isinstance(node, Leaf):
                out.append([node.value, node.cover])
            else:
                split: Any = sorted(node.left_levels) if node.left_levels is not None else node.threshold
                out.append([node.feature, split, int(node.missing_left), node.left, node.right, node.cover])
        return out


# ---------------------------------------------------------------- TreeSHAP, the general algorithm


@dataclass
class _PathElement:
    feature: int
    zero: float
    one: float
    weight: float


def _extend(path: list[_PathElement], zero: float, one: float, feature: int) -> list[_PathElement]:
    path = [_PathElement(e.feature, e.zero, e.one, e.weight) for e in path]
    depth = len(path)
    path.append(_PathElement(feature, zero, one, 1.0 if depth == 0 else 0.0))
    for i in range(depth - 1, -1, -1):
        path[i + 1].weight += one * path[i].weight * (i + 1) / (depth + 1)
        path[i].weight = zero * path[i].weight * (depth - i) / (depth + 1)
    return path


def _unwind(path: list[_PathElement], index: int) -> list[_PathElement]:
    path = [_PathElement(e.feature, e.zero, e.one, e.weight) for e in path]
    depth = len(path) - 1
    one, zero = path[index].one, path[index].zero
    carry = path[depth].weight
    for j in range(depth - 1, -1, -1):
        if one != 0:
            kept = path[j].weight
            path[j].weight = carry * (depth + 1) / ((j + 1) * one)
            carry = kept - path[j].weight * zero * (depth - j) / (depth + 1)
        else:
            path[j].weight = path[j].weight * (depth + 1) / (zero * (depth - j))
    for j in range(index, depth):
        path[j].feature, path[j].zero, path[j].one = path[j + 1].feature, path[j + 1].zero, path[j + 1].one
    return path[:depth]


def tree_shap(tree: Tree, codes: Sequence[float | int | str], phi: list[float]) -> None:
    """Add one tree's path-dependent TreeSHAP values for a lead to ``phi`` (Lundberg et al.,
    Algorithm 2). An unknown value is no player: the walk takes both sides, weighted by cover."""

    def visit(index: int, path: list[_PathElement], scale: float) -> None:
        node = tree.nodes[index]
        if isinstance(node, Leaf):
            for i in range(1, len(path)):
                weight = math.fsum(e.weight for e in _unwind(path, i))
                element = path[i]
                phi[element.feature] += scale * weight * (element.one - element.zero) * node.value
            return
        left, right = tree.nodes[node.left], tree.nodes[node.right]
        total = left.cover + right.cover
        way = tree.goes_left(node, codes[node.feature])
        if way is None:
            visit(node.left, path, scale * left.cover / total)
            visit(node.right, path, scale * right.cover / total)
            return
        hot, cold = (node.left, node.right) if way else (node.right, node.left)
        zero, one = 1.0, 1.0
        seen = next((k for k in range(1, len(path)) if path[k].feature == node.feature), None)
        if seen is not None:
            zero, one = path[seen].zero, path[seen].one
            path = _unwind(path, seen)
        for child, goes in ((hot, one), (cold, 0.0)):
            fraction = tree.nodes[child].cover / total
            visit(child, _extend(path, zero * fraction, goes, node.feature), scale)

    visit(0, _extend([], 1.0, 1.0, -1), 1.0)


# ---------------------------------------------------------------- the compiled tables


@dataclass(frozen=True)
class _Bins:
    """A field's values cut into the bins the ensemble can tell apart: numbers by every threshold any
    tree uses (bin = how many thresholds lie below the value), levels one bin each; then one bin for
    an absent value and one for an unknown one (never in a split's mask)."""

    feature: TreeFeature
    thresholds: tuple[float, ...]

    @property
    def values(self) -> int:
        return len(self.thresholds) + 1 if self.feature.kind == NUMERIC else len(self.feature.levels)

    @property
    def missing(self) -> int:
        return self.values

    @property
    def unknown(self) -> int:
        return self.values + 1

    @property
    def count(self) -> int:
        return self.values + 2

    @property
    def full(self) -> int:
        """Every bin but the unknown one."""
        return (1 << self.unknown) - 1

    def bin(self, value: Any) -> int:
        code = self.feature.code(value)
        if code == MISSING:
            return self.missing
        if code == UNKNOWN:
            return self.unknown
        if self.feature.kind == NUMERIC:
            return bisect.bisect_left(self.thresholds, float(code))
        return int(code)

    def left_mask(self, node: Split) -> int:
        if node.left_levels is not None:
            mask = sum(1 << i for i in node.left_levels if i < self.values)
        else:
            below = bisect.bisect_left(self.thresholds, node.threshold if node.threshold is not None else 0.0)
            mask = (1 << (below + 1)) - 1
        return mask | (1 << self.missing) if node.missing_left else mask


def _binner(bins: _Bins) -> Callable[[Any], int]:
    """``bins.bin`` with a fast path for the common values (a finite number, a text level), which is
    most of a lead's scoring time; anything else takes the general path."""
    general = bins.bin
    isfinite, find = math.isfinite, bisect.bisect_left
    if bins.feature.kind == NUMERIC:
        thresholds = bins.thresholds

        def numeric(value: Any) -> int:
            kind = value.__class__
            if (kind is float or kind is int) and isfinite(value):
                return find(thresholds, value)
            return general(value)

        return numeric
    index = dict(_level_index(bins.feature.levels))
    other = index.get(OTHER)

    def categorical(value: Any) -> int:
        if value.__class__ is str:
            level = value.strip().casefold()[:64]
            if level:
                found = index.get(level, other)
                if found is not None:
                    return found
        return general(value)

    return categorical


@dataclass(frozen=True)
class _PathLeaf:
    value: float
    fields: dict[int, tuple[int, float]]  # feature -> (allowed bins, zero fraction)


def _leaf_paths(tree: Tree, bins: Sequence[_Bins]) -> list[_PathLeaf]:
    found: list[_PathLeaf] = []

    def walk(index: int, state: dict[int, tuple[int, float]]) -> None:
        node = tree.nodes[index]
        if isinstance(node, Leaf):
            found.append(_PathLeaf(node.value, state))
            return
        binning = bins[node.feature]
        left_mask = binning.left_mask(node)
        total = tree.nodes[node.left].cover + tree.nodes[node.right].cover
        allowed, zero = state.get(node.feature, (binning.full, 1.0))
        for child, mask in ((node.left, left_mask), (node.right, binning.full & ~left_mask)):
            walk(child, {**state, node.feature: (allowed & mask, zero * tree.nodes[child].cover / total)})

    walk(0, {})
    return found


def _one(allowed: int, zero: float, at: int, unknown: int) -> float:
    """Whether a lead in bin ``at`` follows the path (an unknown value: as often as the leads did)."""
    return zero if at == unknown else float((allowed >> at) & 1)


def _classes(bins: _Bins, masks: Sequence[int]) -> tuple[list[int], list[int]]:
    """Bins no mask tells apart share a class: (bin -> class, one bin per class)."""
    by_signature: dict[tuple[int, ...], int] = {}
    of_bin: list[int] = []
    representative: list[int] = []
    for at in range(bins.count):
        signature = (-1,) if at == bins.unknown else tuple((m >> at) & 1 for m in masks)
        if signature not in by_signature:
            by_signature[signature] = len(representative)
            representative.append(at)
        of_bin.append(by_signature[signature])
    return of_bin, representative


@dataclass
class CompiledEnsemble:
    """The ensemble's exact TreeSHAP values as lookup tables (see the module's docstring)."""

    features: tuple[TreeFeature, ...]
    bins: tuple[_Bins, ...]
    expected_value: float
    singles: list[tuple[int, list[float]]]
    pairs: list[tuple[int, int, list[int], list[int], int, list[float], list[float]]]
    general: list[Tree] = field(default_factory=list)

    @classmethod
    def compile(
        cls, features: Sequence[TreeFeature], trees: Sequence[Tree], base_score: float
    ) -> CompiledEnsemble:
        thresholds: list[set[float]] = [set() for _ in features]
        for tree in trees:
            for node in tree.nodes:
                if isinstance(node, Split) and node.threshold is not None:
                    thresholds[node.feature].add(node.threshold)
        bins = tuple(_Bins(f, tuple(sorted(t))) for f, t in zip(features, thresholds, strict=True))
        expected = [base_score]
        singles: dict[int, list[float]] = {}
        pair_leaves: dict[tuple[int, int], list[_PathLeaf]] = {}
        general = []
        for tree in trees:
            leaves = _leaf_paths(tree, bins)
            if any(len(leaf.fields) > 2 for leaf in leaves):
                general.append(tree)
                expected.append(tree.expected_value())
                continue
            for leaf in leaves:
                expected.append(leaf.value * math.prod(zero for _, zero in leaf.fields.values()))
                if len(leaf.fields) == 1:
                    ((feature, (allowed, zero)),) = leaf.fields.items()
                    table = singles.setdefault(feature, [0.0] * bins[feature].count)
                    unknown = bins[feature].unknown
                    for at in range(len(table)):
                        table[at] += leaf.value * (_one(allowed, zero, at, unknown) - zero)
                elif len(leaf.fields) == 2:
                    a, b = sorted(leaf.fields)
                    pair_leaves.setdefault((a, b), []).append(leaf)
        pairs = [cls._pair(a, b, bins, leaves) for (a, b), leaves in sorted(pair_leaves.items())]
        return cls(tuple(features), bins, math.fsum(expected), sorted(singles.items()), pairs, general)

    @staticmethod
    def _pair(
        a: int, b: int, bins: Sequence[_Bins], leaves: Sequence[_PathLeaf]
    ) -> tuple[int, int, list[int], list[int], int, list[float], list[float]]:
        """Two-player Shapley values of each leaf's game ``v * prod(one if in S else zero)``:
        ``phi_a = v (one_a - zero_a)(zero_b + one_b) / 2``, and the same for ``b``."""
        map_a, reps_a = _classes(bins[a], [leaf.fields[a][0] for leaf in leaves])
        map_b, reps_b = _classes(bins[b], [leaf.fields[b][0] for leaf in leaves])
        size = len(reps_b)
        table_a = [0.0] * (len(reps_a) * size)
        table_b = [0.0] * (len(reps_a) * size)
        unknown_a, unknown_b = bins[a].unknown, bins[b].unknown
        for leaf in leaves:
            (allowed_a, zero_a), (allowed_b, zero_b) = leaf.fields[a], leaf.fields[b]
            half = 0.5 * leaf.value
            for i, at_a in enumerate(reps_a):
                one_a = _one(allowed_a, zero_a, at_a, unknown_a)
                for j, at_b in enumerate(reps_b):
                    one_b = _one(allowed_b, zero_b, at_b, unknown_b)
                    table_a[i * size + j] += half * (one_a - zero_a) * (zero_b + one_b)
                    table_b[i * size + j] += half * (one_b - zero_b) * (zero_a + one_a)
        return a, b, map_a, map_b, size, table_a, table_b

    @property
    def binners(self) -> list[tuple[int, str, Callable[[Any], int]]]:
        """The fields some table reads (a field no tree splits on needs no bin)."""
        found = self.__dict__.get("_binners")
        if found is None:
            used = {f for f, _ in self.singles} | {f for a, b, *_ in self.pairs for f in (a, b)}
            found = self.__dict__["_binners"] = [
                (i, b.feature.path, _binner(b)) for i, b in enumerate(self.bins) if i in used
            ]
        return found

    def contributions(self, seen: Mapping[str, Any]) -> list[float]:
        """Each feature's share of the logit (TreeSHAP); with ``expected_value`` they add up to it."""
        get = seen.get
        at = [0] * len(self.bins)
        for i, path, binner in self.binners:
            at[i] = binner(get(path))
        phi = [0.0] * len(at)
        for feature, table in self.singles:
            phi[feature] += table[at[feature]]
        for a, b, map_a, map_b, size, table_a, table_b in self.pairs:
            k = map_a[at[a]] * size + map_b[at[b]]
            phi[a] += table_a[k]
            phi[b] += table_b[k]
        if self.general:
            codes = [f.code(seen.get(f.path)) for f in self.features]
            for tree in self.general:
                tree_shap(tree, codes, phi)
        return phi


# ---------------------------------------------------------------- the ensemble


@dataclass
class TreeEnsemble:
    """A trained ensemble: ``base_score`` + the trees' leaf values is the logit."""

    features: tuple[TreeFeature, ...]
    trees: tuple[Tree, ...]
    base_score: float
    _compiled: CompiledEnsemble | None = field(default=None, repr=False, compare=False)

    @property
    def compiled(self) -> CompiledEnsemble:
        if self._compiled is None:
            self._compiled = CompiledEnsemble.compile(self.features, self.trees, self.base_score)
        return self._compiled

    def codes(self, seen: Mapping[str, Any]) -> list[float | int | str]:
        return [f.code(seen.get(f.path)) for f in self.features]

    def logit(self, seen: Mapping[str, Any]) -> float:
        """The trees' sum, walked node by node (the reference the tables are held to)."""
        codes = self.codes(seen)
        return math.fsum([self.base_score, *(tree.value(codes) for tree in self.trees)])

    def shap(self, seen: Mapping[str, Any]) -> tuple[float, list[float]]:
        """(expected value, per-feature contributions) by the general algorithm, tree by tree."""
        codes = self.codes(seen)
        phi = [0.0] * len(self.features)
        for tree in self.trees:
            tree_shap(tree, codes, phi)
        return math.fsum([self.base_score, *(t.expected_value() for t in self.trees)]), phi

    def as_dict(self) -> dict[str, Any]:
        return {
            "algorithm": ALGORITHM,
            "base_score": self.base_score,
            "features": [f.as_dict() for f in self.features],
            "trees": [tree.as_list() for tree in self.trees],
        }

    def node_count(self) -> int:
        return sum(len(t.nodes) for t in self.trees)


# ---------------------------------------------------------------- reading an exported ensemble


def is_trees(raw: Any) -> bool:
    return isinstance(raw, dict) and raw.get("algorithm") == ALGORITHM


def parse_trees(raw: dict[str, Any], compiler: Compiler) -> TreeEnsemble:
    """An exported ensemble, checked: known fields, children after their parents, finite numbers."""
    base = finite(raw.get("base_score"))
    if base is None:
        compiler.fail("parameters.base_score", "parameters.base_score must be a number")
        base = 0.0
    features = _features(raw.get("features"), compiler)
    trees = []
    raw_trees = raw.get("trees")
    if not isinstance(raw_trees, list) or not raw_trees:
        compiler.fail("parameters.trees", "parameters.trees must be a non-empty list of trees")
        raw_trees = []
    for t, raw_tree in enumerate(raw_trees):
        tree = _tree(raw_tree, features, f"parameters.trees[{t}]", compiler)
        if tree is not None:
            trees.append(tree)
    return TreeEnsemble(tuple(features), tuple(trees), base)


def _features(raw: Any, compiler: Compiler) -> list[TreeFeature]:
    if not isinstance(raw, list):
        compiler.fail("parameters.features", "parameters.features must be a list")
        return []
    features = []
    for i, entry in enumerate(raw):
        where = f"parameters.features[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("field"), str):
            compiler.fail(where, f"{where} needs a field")
            continue
        kind = entry.get("kind")
        levels = entry.get("levels", [])
        if kind not in (NUMERIC, CATEGORICAL):
            compiler.fail(f"{where}.kind", f"{where}.kind must be numeric or categorical")
            continue
        if kind == CATEGORICAL and (
            not isinstance(levels, list) or not all(isinstance(v, str) for v in levels)
        ):
            compiler.fail(f"{where}.levels", f"{where}.levels must be a list of text")
            continue
        features.append(TreeFeature(entry["field"], kind, tuple(levels) if kind == CATEGORICAL else ()))
    return features


def _tree(raw: Any, features: Sequence[TreeFeature], where: str, compiler: Compiler) -> Tree | None:
    if not isinstance(raw, list) or not raw:
        compiler.fail(where, f"{where} must be a non-empty list of nodes")
        return None
    nodes: list[Node] = []
    for index, entry in enumerate(raw):
        node = _node(entry, index, len(raw), features)
        if node is None:
            compiler.fail(where, f"{where}: node {index} is not a valid split or leaf")
            return None
        nodes.append(node)
    return Tree(tuple(nodes))


def _node(entry: Any, index: int, size: int, features: Sequence[TreeFeature]) -> Node | None:
    if not isinstance(entry, list):
        return None
    if len(entry) == 2:
        value, cover = finite(entry[0]), finite(entry[1])
        return Leaf(value, cover) if value is not None and cover is not None and cover > 0 else None
    if len(entry) != 6:
        return None
    feature, split, missing_left, left, right, cover = entry
    if not isinstance(feature, int) or isinstance(feature, bool) or not 0 <= feature < len(features):
        return None
    if not all(isinstance(c, int) and index < c < size for c in (left, right)) or missing_left not in (0, 1):
        return None
    number = finite(cover)
    if number is None or number <= 0:
        return None
    if features[feature].kind == CATEGORICAL:
        if not isinstance(split, list) or not all(isinstance(i, int) for i in split):
            return None
        return Split(feature, None, frozenset(split), bool(missing_left), left, right, number)
    threshold = finite(split)
    if threshold is None:
        return None
    return Split(feature, threshold, None, bool(missing_left), left, right, number)
