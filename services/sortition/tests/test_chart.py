from services.sortition.domain.chart import nice_top, selection_chart


def test_the_chart_draws_each_profile_as_wide_as_its_share_and_as_tall_as_its_chance():
    profiles = [{"features": {"g": "m"}, "volunteers": 30, "probability": 0.1},
                {"features": {"g": "f"}, "volunteers": 10, "probability": 0.3}]
    c = selection_chart(profiles, n=40, k=6, width=400, height=200)
    assert c.top == 0.5  # the next round value above the largest chance, 0.3
    low, high = c.bars
    assert (low.x, low.width) == (0, 300) and (high.x, high.width) == (300, 100)  # 30 and 10 of 40 volunteers
    assert low.height == 40 and low.y == 160 and high.height == 120  # 0.1 and 0.3 of 0.5, of 200 px
    assert c.average == 0.15 and c.average_y == 140
    assert c.ticks[0] == (0, 200, 0) and c.ticks[1] == (0.125, 150, 1) and c.ticks[-1] == (0.5, 0, 0)


def test_bars_are_sorted_by_chance_and_the_top_is_round():
    profiles = [{"features": {"a": str(i)}, "volunteers": 1, "probability": p} for i, p in enumerate([0.04, 0.01, 0.02])]
    c = selection_chart(profiles, n=3, k=0)
    assert [b.probability for b in c.bars] == [0.01, 0.02, 0.04]
    assert nice_top(0.04) == 0.05 and nice_top(0.6) == 1.0 and nice_top(0.011) == 0.02 and nice_top(0) == 1.0
