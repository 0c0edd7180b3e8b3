"""The console's layered graph layout: layers, ordering, boxes and edge paths."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from entrypoints.console.graph_layout import (
    GraphEdge,
    LayoutSizes,
    count_crossings,
    layered_layout,
    longest_path_layers,
)

SIZES = LayoutSizes()


def edges(*pairs: str) -> list[GraphEdge]:
    return [GraphEdge(*pair.split(">")) for pair in pairs]


def boxes(layout):  # type: ignore[no-untyped-def]
    return {box.id: box for box in layout.nodes}


def test_layers_follow_the_longest_path_from_a_start_node() -> None:
    found = longest_path_layers(
        ["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("a", "c"), ("c", "d")]
    )
    assert found == {"a": 0, "b": 1, "c": 2, "d": 3}


def test_every_edge_points_from_a_lower_layer_to_a_higher_one() -> None:
    layout = layered_layout(list("abcdef"), edges("a>b", "a>c", "b>d", "c>d", "d>e", "a>e", "f>e"))
    by_id = boxes(layout)
    for edge in layout.edges:
        assert by_id[edge.source].layer < by_id[edge.target].layer
        assert by_id[edge.source].x < by_id[edge.target].x


def test_barycentric_ordering_removes_avoidable_crossings() -> None:
    # Listed so that the first-seen order crosses: a1->b2 and a2->b1.
    layout = layered_layout(["a1", "a2", "b1", "b2"], edges("a1>b2", "a2>b1"))
    assert layout.crossings == 0
    by_id = boxes(layout)
    assert (by_id["a1"].y < by_id["a2"].y) == (by_id["b2"].y < by_id["b1"].y)


def test_a_long_edge_is_routed_through_each_layer_it_spans() -> None:
    layout = layered_layout(list("abcd"), edges("a>b", "b>c", "c>d", "a>d"))
    long_edge = next(e for e in layout.edges if (e.source, e.target) == ("a", "d"))
    # Into and across a placeholder in each of the two layers between, then on to d.
    assert long_edge.d.count("C ") == 5
    assert layout.crossings == 0


def test_edges_start_at_the_source_right_side_and_end_at_the_target_left_side() -> None:
    layout = layered_layout(["x", "y"], [GraphEdge("x", "y", "yes")])
    x, y = boxes(layout)["x"], boxes(layout)["y"]
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", layout.edges[0].d)]
    assert numbers[:2] == [x.x + x.width, x.y + x.height / 2]
    assert numbers[-2:] == [y.x, y.y + y.height / 2]
    assert layout.edges[0].label == "yes"


def test_the_canvas_holds_every_box() -> None:
    layout = layered_layout(list("abcde"), edges("a>b", "a>c", "a>d", "b>e", "c>e", "d>e"))
    for box in layout.nodes:
        assert box.x >= 0 and box.x + box.width <= layout.width
        assert box.y >= 0 and box.y + box.height <= layout.height


def test_unknown_endpoints_and_self_loops_are_ignored_and_cycles_do_not_hang() -> None:
    layout = layered_layout(["a", "b"], edges("a>b", "b>a", "a>a", "a>ghost"))
    assert {box.id for box in layout.nodes} == {"a", "b"}
    assert len(layout.edges) == 2


def test_an_empty_graph_has_an_empty_layout() -> None:
    layout = layered_layout([], [])
    assert layout.nodes == () and layout.edges == ()


def test_crossings_are_counted_between_adjacent_layers() -> None:
    layers = [[("node", "a1"), ("node", "a2")], [("node", "b1"), ("node", "b2")]]
    crossing = [(("node", "a1"), ("node", "b2")), (("node", "a2"), ("node", "b1"))]
    assert count_crossings(layers, crossing) == 1
    assert count_crossings(layers, [(crossing[0][0], ("node", "b1"))]) == 0


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[str], list[GraphEdge]]:
    count = draw(st.integers(min_value=1, max_value=12))
    nodes = [f"n{i}" for i in range(count)]
    pairs = [(i, j) for i in range(count) for j in range(i + 1, count)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=20)) if pairs else []
    return nodes, [GraphEdge(nodes[i], nodes[j]) for i, j in chosen]


@given(dags())
def test_boxes_never_overlap_and_layers_respect_every_edge(
    graph: tuple[list[str], list[GraphEdge]],
) -> None:
    nodes, graph_edges = graph
    layout = layered_layout(nodes, graph_edges)
    placed = list(layout.nodes)
    assert sorted(box.id for box in placed) == sorted(nodes)
    for i, first in enumerate(placed):
        for second in placed[i + 1 :]:
            apart_x = first.x + first.width <= second.x or second.x + second.width <= first.x
            apart_y = first.y + first.height <= second.y or second.y + second.height <= first.y
            assert apart_x or apart_y
    by_id = boxes(layout)
    for edge in graph_edges:
        assert by_id[edge.source].layer < by_id[edge.target].layer


def test_layout_is_deterministic() -> None:
    graph = (list("abcdef"), edges("a>d", "b>e", "c>f", "a>f", "c>d"))
    assert layered_layout(*graph) == layered_layout(*graph)
