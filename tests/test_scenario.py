"""Scenario files -> validated Scenario: every way a planner's file can be wrong, and the message
they get (file, key path, what was expected, what was found); extends, --set overrides, and the
shipped scenarios."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from sim.errors import ScenarioError, UsageError
from sim.scenario import dump_yaml, load_scenario, scenario_hash
from sim.scenario.loader import apply_overrides, parse_override, validate

ORIGIN = "small.yaml"


def error_of(data: dict, origin: str = ORIGIN) -> str:
    """The message of the ScenarioError that validating ``data`` raises."""
    with pytest.raises(ScenarioError) as info:
        validate(data, origin)
    assert info.value.exit_code == 2
    return info.value.message


def load_error(path, overrides=()) -> str:
    """The ScenarioError message loading ``path`` (with ``overrides``) gives."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return info.value.message


def assert_names_file(msg: str, origin: str = ORIGIN) -> None:
    """The message names the file it is about."""
    assert msg.startswith(f"{origin}:"), msg


# ---------------------------------------------------------------------------------------------
# unknown keys
# ---------------------------------------------------------------------------------------------
def test_unknown_key_in_section_suggests_the_close_name(scenario_dict):
    """A misspelt lever in a section is an error naming the file and key path, suggesting the right
    key."""
    msg = error_of(scenario_dict({"startups": {"qualty_sigma": 0.5}}))
    assert_names_file(msg)
    assert "startups.qualty_sigma: unknown key (did you mean 'quality_sigma'?)" in msg
    assert "expected one of [" in msg and "'monthly_burn_sigma'" in msg


def test_unknown_top_level_key_suggests_the_close_name(scenario_dict):
    """A misspelt section (``centers``) is rejected with a did-you-mean, never silently ignored."""
    msg = error_of(scenario_dict({"centers": {}}))
    assert_names_file(msg)
    assert "centers: unknown key (did you mean 'centres'?)" in msg


def test_unknown_key_in_centre_defaults_suggests_the_close_name(scenario_dict):
    """centre_defaults is checked against the centre schema, also in its nested sections."""
    msg = error_of(scenario_dict({"centre_defaults": {"seets": 10}}))
    assert_names_file(msg)
    assert "centre_defaults.seets: unknown key (did you mean 'seats'?)" in msg
    assert "'intake_size'" in msg  # the list of expected keys

    msg = error_of(
        scenario_dict({"centre_defaults": {"training": {"hazard_multiplier_durin": 0.9}}})
    )
    assert "centre_defaults.training.hazard_multiplier_durin: unknown key " \
           "(did you mean 'hazard_multiplier_during'?)" in msg


def test_unknown_key_in_conglomerate_defaults_suggests_the_close_name(scenario_dict):
    """conglomerate_defaults is checked against the conglomerate schema."""
    msg = error_of(scenario_dict({"conglomerate_defaults": {"invest_probabilty": 0.1}}))
    assert_names_file(msg)
    assert ("conglomerate_defaults.invest_probabilty: unknown key (did you mean "
            "'invest_probability'?)") in msg


def test_unknown_key_in_centre_entry_suggests_the_close_name(scenario_dict):
    """An unknown key inside one centre (and inside its nested grants) names that centre's key
    path."""
    centre = {"region": "North", "opens": "2015-01"}
    msg = error_of(scenario_dict({"centres": {"Hub": {**centre, "residency_month": 10}}}))
    assert_names_file(msg)
    assert "centres.Hub.residency_month: unknown key (did you mean 'residency_months'?)" in msg

    msg = error_of(scenario_dict({"centres": {"Hub": {**centre, "grants": {"per_startup": 1}}}}))
    assert "centres.Hub.grants.per_startup: unknown key (did you mean 'per_startup_krw'?)" in msg


# ---------------------------------------------------------------------------------------------
# values out of range, wrong types
# ---------------------------------------------------------------------------------------------
HUB = {"region": "North", "opens": "2015-01"}


@pytest.mark.parametrize(
    ("over", "key", "expected", "found"),
    [
        ({"centres": {"Hub": {**HUB, "apply_probability": 1.5}}},
         "centres.Hub.apply_probability", "expected less than or equal to 1", "found 1.5"),
        ({"funding": {"equity": {"rounds": {"product": {"probability": -0.1}}}}},
         "funding.equity.rounds.product.probability", "expected greater than or equal to 0",
         "found -0.1"),
        ({"centres": {"Hub": {**HUB, "grants": {"per_startup_krw": -5_000_000}}}},
         "centres.Hub.grants.per_startup_krw", "expected greater than or equal to "
                                               "0", "found -5000000"),
        ({"startups": {"initial_cash_median_krw": -1}},
         "startups.initial_cash_median_krw", "expected greater than or equal to 0", "found -1"),
        ({"regions": {"North": {"founding_rate_per_year": -3}}},
         "regions.North.founding_rate_per_year", "expected greater than or equal to 0", "found -3"),
        ({"startups": {"stages": {"traction": {"months_to_milestone": 0}}}},
         "startups.stages.traction.months_to_milestone", "expected greater than 0", "found 0"),
    ],
    ids=["probability>1", "probability<0", "negative-grant", "negative-cash", "negative-rate",
         "zero-months"],
)
def test_out_of_range_values_are_rejected(scenario_dict, over, key, expected, found):
    """Probabilities outside [0, 1], negative money and rates, zero durations: rejected with key,
    bound and value."""
    msg = error_of(scenario_dict(over))
    assert_names_file(msg)
    assert f"{key}: {expected}, {found}." in msg


@pytest.mark.parametrize(
    ("yaml_value", "found"), [(".nan", "nan"), (".NaN", "nan"), (".inf", "inf"), ("-.inf", "-inf")])
def test_nan_and_inf_from_yaml_are_rejected(write_scenario, scenario_dict, yaml_value, found):
    """YAML's .nan and .inf are numbers to the YAML reader but never valid lever values."""
    text = (
        "name: special\n"
        "sectors: {ict: 1}\n"
        f"regions:\n  North: {{founding_rate_per_year: {yaml_value}}}\n"
    )
    path = write_scenario("special.yaml", text)
    msg = load_error(path)
    assert_names_file(msg, str(path))
    assert f"regions.North.founding_rate_per_year: expected a finite number, found {found}." in msg

    text = dump_centre_file(scenario_dict, HUB | {"apply_probability": "PLACEHOLDER"}).replace(
        "PLACEHOLDER", yaml_value
    )
    path = write_scenario("special-centre.yaml", text)
    msg = load_error(path)
    assert f"centres.Hub.apply_probability: expected a finite number, found {found}." in msg


def dump_centre_file(scenario_dict, centre: dict) -> str:
    """YAML text of the small scenario with one centre, Hub."""
    return dump_yaml(scenario_dict({"centres": {"Hub": centre}}))


@pytest.mark.parametrize(
    ("over", "key", "expected", "found"),
    [
        ({"regions": {"North": {"founding_rate_per_year": "lots"}}},
         "regions.North.founding_rate_per_year", "expected a valid number", "found 'lots'"),
        ({"centres": {"Hub": {**HUB, "seats": "many"}}},
         "centres.Hub.seats", "expected a valid integer", "found 'many'"),
        ({"centres": {"Hub": {**HUB, "seats": 2.5}}},
         "centres.Hub.seats", "expected a valid integer", "found 2.5"),
        ({"centres": {"Hub": {**HUB, "sector_focus": "ict"}}},
         "centres.Hub.sector_focus", "expected a valid list", "found 'ict'"),
    ],
    ids=["text-for-rate", "text-for-seats", "fraction-for-seats", "text-for-list"],
)
def test_wrong_scalar_types_are_rejected(scenario_dict, over, key, expected, found):
    """Text where a number or a list is expected: rejected with the key, the type expected and the
    value found."""
    msg = error_of(scenario_dict(over))
    assert_names_file(msg)
    assert f"{key}: {expected}" in msg and f"{found}." in msg


def test_list_where_a_mapping_is_expected_is_rejected(scenario_dict):
    """A list in place of a section, a centre entry or centre_defaults is rejected, saying what was
    found."""
    data = scenario_dict()
    data["startups"] = [0.8, 1.0]
    msg = error_of(data)
    assert_names_file(msg)
    assert "startups: expected a valid dictionary or instance of Startups, found [0.8, 1.0]." in msg

    msg = error_of(scenario_dict({"centres": {"Hub": ["North", "2015-01"]}}))
    assert ("centres.Hub: expected a valid dictionary or instance of Centre, found ['North', "
            "'2015-01'].") in msg

    data = scenario_dict()
    data["centre_defaults"] = ["seats", 10]
    msg = error_of(data)
    assert msg == f"{ORIGIN}: centre_defaults: expected a mapping, found a list."


def test_missing_required_value_is_named(scenario_dict):
    """A required key left out (a region without a founding rate, a centre without a region) is
    named."""
    data = scenario_dict()
    data["regions"]["North"] = {"funding_access": 0.5}
    msg = error_of(data)
    assert (
        "regions.North.founding_rate_per_year: a value is required here, but the key is missing."
        in msg
    )

    msg = error_of(scenario_dict({"centres": {"Hub": {"opens": "2015-01"}}}))
    assert "centres.Hub.region: a value is required here" in msg


# ---------------------------------------------------------------------------------------------
# dates
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("opens", ["2013-12", "2010-06", "2019-01", "2030-01"])
def test_centre_opening_outside_the_calendar_is_rejected(scenario_dict, opens):
    """A centre opening before calendar.start or after the horizon is rejected, naming the
    calendar."""
    msg = error_of(scenario_dict({"centres": {"Hub": {**HUB, "opens": opens}}}))
    assert_names_file(msg)
    assert (f"centres.Hub.opens: expected a date inside the calendar 2014-01 .. 2018-12, found "
            f"{opens}.") in msg


def test_centre_opening_on_the_calendar_edges_is_accepted(make_scenario):
    """The first and the last month of the calendar are inside it."""
    for opens in ("2014-01", "2018-12"):
        sc = make_scenario({"centres": {"Hub": {**HUB, "opens": opens}}})
        assert sc.centres["Hub"].opens == opens


def test_centre_closing_before_it_opens_is_rejected(scenario_dict):
    """closes must come after opens."""
    msg = error_of(
        scenario_dict({"centres": {"Hub": {**HUB, "opens": "2016-01", "closes": "2015-06"}}})
    )
    assert "centres.Hub.closes: expected a date after opens (2016-01), found 2015-06." in msg


def test_founder_education_outside_the_calendar_is_rejected(scenario_dict):
    """Founder education starting before the calendar is rejected like a centre."""
    msg = error_of(
        scenario_dict({"founder_education": {"sw": {"region": "North", "starts": "2012-03"}}})
    )
    assert ("founder_education.sw.starts: expected a date inside the calendar 2014-01 .. 2018-12, "
            "found 2012-03.") in msg


@pytest.mark.parametrize("bad", ["2015-13", "2015-00", "2015-3", "March 2015", "15-03", "2015/03"])
def test_malformed_dates_are_rejected(scenario_dict, bad):
    """Dates must be YYYY-MM; the message shows the form and the value found (once)."""
    msg = error_of(scenario_dict({"centres": {"Hub": {**HUB, "opens": bad}}}))
    assert_names_file(msg)
    expected = (f"centres.Hub.opens: expected a date as YYYY-MM (for example 2015-03), found "
                f"{bad!r}.")
    assert expected in msg
    assert msg.count("found") == 1


def test_malformed_calendar_dates_are_rejected(scenario_dict):
    """The calendar's own dates are checked, and the horizon may not precede the start."""
    msg = error_of(scenario_dict({"calendar": {"start": 201401}}))
    assert "calendar.start: expected a date as YYYY-MM (for example 2015-03), found 201401." in msg

    msg = error_of(scenario_dict({"calendar": {"horizon": "2013-12"}}))
    assert "calendar: expected a horizon at or after start 2014-01, found 2013-12." in msg


def test_yaml_full_dates_are_read_as_their_month(write_scenario, scenario_dict):
    """YAML reads 2015-03-16 as a date: it is accepted and kept as the month 2015-03."""
    text = dump_centre_file(scenario_dict, HUB).replace("opens: 2015-01", "opens: 2015-03-16")
    assert "2015-03-16" in text
    path = write_scenario("dated.yaml", text)
    assert load_scenario(path).centres["Hub"].opens == "2015-03"


# ---------------------------------------------------------------------------------------------
# references between sections
# ---------------------------------------------------------------------------------------------
def test_centre_in_unknown_region_suggests_the_close_name(scenario_dict):
    """A centre's region must be a region of the scenario; a near miss gets a did-you-mean."""
    msg = error_of(scenario_dict({"centres": {"Hub": {**HUB, "region": "Nort"}}}))
    assert_names_file(msg)
    assert ("centres.Hub.region: expected the name of a region defined in this scenario, "
            "found 'Nort' (did you mean 'North'?).") in msg


def test_partner_must_be_a_conglomerate(scenario_dict):
    """A partner that is not a conglomerate (here: a region's name) is rejected; a near miss gets a
    hint."""
    data = scenario_dict(
        {"conglomerates": {"Samsung": {}}, "centres": {"Hub": {**HUB, "partner": "North"}}}
    )
    msg = error_of(data)
    assert ("centres.Hub.partner: expected the name of a conglomerate defined in this scenario, "
            "found 'North'.") in msg

    data = scenario_dict(
        {"conglomerates": {"Samsung": {}}, "centres": {"Hub": {**HUB, "partner": "Samsnug"}}}
    )
    assert "found 'Samsnug' (did you mean 'Samsung'?)." in error_of(data)


def test_unknown_sector_in_sector_focus_is_rejected(scenario_dict):
    """sector_focus names sectors of the scenario."""
    msg = error_of(
        scenario_dict({"centres": {"Hub": {**HUB, "sector_focus": ["ict", "biohealth"]}}})
    )
    assert_names_file(msg)
    assert ("centres.Hub.sector_focus: expected the name of a sector defined in this scenario, "
            "found 'biohealth' (did you mean 'bio_health'?).") in msg
    assert "'ict'" not in msg.split("sector_focus:")[1]


def test_all_reference_problems_are_reported_together(scenario_dict):
    """Several broken references are each reported with their own key path in one message."""
    centre = {
        "region": "Westt",
        "partner": "Nobody",
        "opens": "2015-01",
        "catchment": ["South", "Eastt"],
    }
    msg = error_of(scenario_dict({"centres": {"Hub": centre}}))
    assert "centres.Hub.region: expected the name of a region" in msg
    assert "centres.Hub.partner: expected the name of a conglomerate" in msg
    assert ("centres.Hub.catchment: expected the name of a region defined in this scenario, found "
            "'Eastt'") in msg


def test_conglomerate_probabilities_summing_above_one_are_rejected(scenario_dict):
    """invest + acquire + subcontract is one draw split three ways: its parts may not sum above
    1."""
    cong = {"invest_probability": 0.5, "acquire_probability": 0.3, "subcontract_probability": 0.3}
    msg = error_of(scenario_dict({"conglomerates": {"Samsung": cong}}))
    assert_names_file(msg)
    assert ("conglomerates.Samsung: expected invest_probability + acquire_probability + "
            "subcontract_probability at most 1, found 1.1.") in msg


def test_conglomerate_defaults_count_towards_the_sum(scenario_dict):
    """Defaults are merged under each entry before the sum is checked."""
    data = scenario_dict(
        {
            "conglomerate_defaults": {"invest_probability": 0.6, "subcontract_probability": 0.3},
            "conglomerates": {
                "SK": {"acquire_probability": 0.2},
                "LG": {"acquire_probability": 0.1},
            },
        }
    )
    msg = error_of(data)
    assert "conglomerates.SK: expected" in msg and "found 1.1." in msg
    assert "conglomerates.LG" not in msg  # 0.6 + 0.1 + 0.3 = 1 is allowed


# ---------------------------------------------------------------------------------------------
# extends
# ---------------------------------------------------------------------------------------------
def test_extends_by_name_deep_merges_the_variant_over_its_parent(write_scenario, scenario_dict):
    """A variant holds only what differs; nested mappings merge key by key, the rest is
    inherited."""
    parent = scenario_dict(
        {"centres": {"Hub": {**HUB, "seats": 30, "grants": {"per_startup_krw": 10_000_000}}}}
    )
    parent["name"] = "parent"
    write_scenario("parent.yaml", parent)
    child = write_scenario("child.yaml", (
        "extends: parent\n"
        "name: child\n"
        "regions:\n  North: {funding_access: 0.5}\n"
        "centres:\n  Hub: {seats: 45, grants: {annual_budget_krw: 1_000_000}}\n"))
    sc = load_scenario(child)
    assert sc.name == "child"
    assert sc.description == ""  # a variant describes itself
    assert sc.regions["North"].funding_access == 0.5
    assert sc.regions["North"].founding_rate_per_year == 400  # inherited beside the changed key
    assert sc.regions["South"].founding_rate_per_year == 200
    hub = sc.centres["Hub"]
    assert (hub.region, hub.opens, hub.seats) == ("North", "2015-01", 45)
    assert hub.grants.per_startup_krw == 10_000_000 and hub.grants.annual_budget_krw == 1_000_000
    assert sc.calendar.horizon == "2018-12"


def test_extends_by_relative_path(write_scenario, scenario_dict, tmp_path):
    """A path in extends is taken relative to the file that extends."""
    parent = scenario_dict()
    parent["name"] = "parent"
    write_scenario("parent.yaml", parent, folder=tmp_path / "base")
    child = write_scenario("child.yaml", "extends: ../base/parent.yaml\nname: child\nstartups: "
                                         "{quality_sigma: 0.4}\n", folder=tmp_path / "variants")
    sc = load_scenario(child)
    assert sc.startups.quality_sigma == 0.4
    assert sc.startups.initial_cash_sigma == 0.7  # schema default kept beside the changed key
    assert set(sc.regions) == {"North", "South"}


def test_extends_a_shipped_scenario_by_name_from_anywhere(write_scenario):
    """A name not found beside the file is looked up among the shipped scenarios; grandparents
    resolve too."""
    path = write_scenario("bigger-daejeon.yaml", "extends: ccei-as-opened\ncentres:\n  Daejeon: "
                                                 "{seats: 40}\n")
    sc = load_scenario(path)
    assert sc.centres["Daejeon"].seats == 40
    assert sc.centres["Daejeon"].partner == "SK"  # from ccei-announced, the grandparent
    assert sc.centres["Daejeon"].opens == "2014-10"  # from ccei-as-opened
    assert sc.centres["Seoul"].opens == "2015-07"
    assert sc.name == "bigger-daejeon"  # named after its own file, not after its parent


def test_extends_cycle_is_detected(write_scenario):
    """a extends b extends a: a clear message naming the cycle, no recursion error."""
    a = write_scenario("a.yaml", "extends: b\nname: a\n")
    write_scenario("b.yaml", "extends: a.yaml\nname: b\n")
    msg = load_error(a)
    assert msg == (f"{a}: extends forms a cycle (a.yaml -> b.yaml -> a.yaml); a scenario cannot "
                   f"extend itself.")

    me = write_scenario("me.yaml", "extends: me\nname: me\n")
    assert "extends forms a cycle (me.yaml -> me.yaml)" in load_error(me)


def test_extends_to_a_missing_file_is_rejected(write_scenario, tmp_path, shipped):
    """A parent that does not exist: the message names the file, where it looked and what it
    found."""
    path = write_scenario("orphan.yaml", "extends: no-such-parent\nname: orphan\n")
    msg = load_error(path)
    assert msg.startswith(f"{path}: extends: expected the name of a scenario in {tmp_path} or "
                          f"{shipped}")
    assert "found 'no-such-parent', which does not exist." in msg

    path = write_scenario("orphan2.yaml", "extends: ../nowhere/parent.yaml\nname: orphan\n")
    assert "found '../nowhere/parent.yaml', which does not exist." in load_error(path)


def test_extends_must_be_a_name(write_scenario):
    """extends: [a, b] is not a scenario reference."""
    path = write_scenario("multi.yaml", "extends: [a, b]\nname: multi\n")
    assert load_error(path) == (f"{path}: extends: expected a scenario name or path, found ['a', "
                                f"'b'].")


def test_errors_in_a_parent_name_the_file_being_loaded(write_scenario, scenario_dict):
    """A bad value inherited from a parent is reported with the loaded file and the key path."""
    parent = scenario_dict({"startups": {"quality_sigma": 9}})
    write_scenario("parent.yaml", parent)
    child = write_scenario("child.yaml", "extends: parent\nname: child\n")
    msg = load_error(child)
    assert msg.startswith(f"{child}: invalid scenario:")
    assert "startups.quality_sigma: expected less than or equal to 5, found 9." in msg


# ---------------------------------------------------------------------------------------------
# --set overrides
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "keys", "value"),
    [
        ("centres.Daejeon.seats=40", ["centres", "Daejeon", "seats"], 40),
        ("startups.quality_sigma=0.5", ["startups", "quality_sigma"], 0.5),
        ("centres.Seoul.enabled=false", ["centres", "Seoul", "enabled"], False),
        ("centres.Seoul.enabled=true", ["centres", "Seoul", "enabled"], True),
        ("centres.Seoul.partner=null", ["centres", "Seoul", "partner"], None),
        ("centres.Seoul.partner=~", ["centres", "Seoul", "partner"], None),
        ("centres.Seoul.partner=Samsung", ["centres", "Seoul", "partner"], "Samsung"),
        ("description=two words", ["description"], "two words"),
        ("centres.Seoul.opens=2015-03", ["centres", "Seoul", "opens"], "2015-03"),
        ("name='42'", ["name"], "42"),
        ("name=", ["name"], ""),
        (" regions.Jeju.founding_rate_per_year = "
         "25", ["regions", "Jeju", "founding_rate_per_year"], 25),
    ],
)
def test_override_values_are_read_as_yaml_scalars(text, keys, value):
    """--set key=value reads the value as YAML: whole numbers, numbers, true/false, null, text."""
    got_keys, got = parse_override(text)
    assert got_keys == keys
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("noequals", "--set 'noequals': expected dotted.key=value, for example "
                     "centres.Daejeon.seats=40."),
        ("=5", "--set '=5': expected dotted.key=value with a non-empty key."),
        ("centres..seats=5", "--set 'centres..seats=5': expected dotted.key=value with a non-empty "
                             "key."),
        ("name.first=5", "--set 'name.first=5': name is not a mapping, so it has no key 'first'."),
    ],
)
def test_bad_override_syntax_is_rejected(text, expected):
    """Overrides without '=', with an empty key part, or reaching into a scalar are errors."""
    with pytest.raises(ScenarioError) as info:
        apply_overrides({"name": "x"}, [text])
    assert info.value.message == expected
    assert info.value.exit_code == 2


def test_overrides_apply_after_extends_and_do_not_touch_the_input(write_scenario, scenario_dict):
    """--set wins over both the variant and its parent; the mapping passed in is left unchanged."""
    parent = scenario_dict({"centres": {"Hub": {**HUB, "seats": 30, "intake_size": 8}}})
    write_scenario("parent.yaml", parent)
    child = write_scenario("child.yaml", "extends: parent\nname: child\ncentres:\n  Hub: {seats: "
                                         "45}\n")
    sc = load_scenario(
        child,
        overrides=[
            "centres.Hub.seats=50",
            "centres.Hub.intake_size=12",
            "centres.Hub.enabled=false",
            "startups.quality_sigma=0.25",
            "centres.Annex.region=South",
            "centres.Annex.opens=2016-01",
        ],
    )
    hub = sc.centres["Hub"]
    assert (hub.seats, hub.intake_size, hub.enabled) == (50, 12, False)
    assert hub.opens == "2015-01"
    assert sc.startups.quality_sigma == 0.25
    assert sc.centres["Annex"].region == "South"  # a new entry made by overrides alone
    assert set(sc.active_centres) == {"Annex"}

    data = {"centres": {"Hub": {"seats": 1}}}
    out = apply_overrides(data, ["centres.Hub.seats=2"])
    assert data == {"centres": {"Hub": {"seats": 1}}} and out["centres"]["Hub"]["seats"] == 2


def test_misspelt_override_key_is_caught_by_validation(shipped):
    """An override cannot smuggle in an unknown lever: the usual did-you-mean error, naming the
    file."""
    path = shipped / "no-programme.yaml"
    msg = load_error(path, ["startups.qualty_sigma=0.5"])
    assert msg.startswith(f"{path}: invalid scenario: startups.qualty_sigma: unknown key "
                          "(did you mean 'quality_sigma'?)")
    msg = load_error(path, ["startups.quality_sigma=high"])
    assert ("startups.quality_sigma: expected a valid number, unable to parse string as a number, "
            "found 'high'.") in msg


# ---------------------------------------------------------------------------------------------
# unreadable files
# ---------------------------------------------------------------------------------------------
def test_empty_file_is_rejected(write_scenario):
    """An empty file (or one with only comments) says it is empty and what it should hold."""
    for text in ("", "# just a comment\n"):
        path = write_scenario("empty.yaml", text)
        assert load_error(path) == (f"{path}: is empty; expected a mapping with at least a name "
                                    f"(or "
                                    f"extends).")


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "a list"), ("just text\n", "text"),
                                           ("42\n", "a whole number")])
def test_top_level_must_be_a_mapping(write_scenario, text, kind):
    """A file whose top level is a list or a scalar is rejected, saying what was found."""
    path = write_scenario("flat.yaml", text)
    assert load_error(path) == (f"{path}: the top level must be a mapping of keys to values, found "
                                f"{kind}.")


def test_invalid_yaml_reports_the_line(write_scenario):
    """Broken YAML is reported with the line and column of the problem."""
    path = write_scenario("broken.yaml", "name: broken\nsectors: {ict: 1\nregions:\n  North: "
                                         "{founding_rate_per_year: 1}\n")
    msg = load_error(path)
    assert msg.startswith(f"{path}: is not valid YAML at line 3, column 8:")

    path = write_scenario("tabs.yaml", "name: tabs\nregions:\n\tNorth: 1\n")
    assert load_error(path).startswith(f"{path}: is not valid YAML at line 3,")


def test_non_utf8_file_is_rejected(write_scenario):
    """Bytes that are not UTF-8 (a Latin-1 or EUC-KR file) are rejected with the offset of the bad
    byte."""
    path = write_scenario("latin1.yaml", "name: caf\u00e9\n".encode("latin-1"))
    assert load_error(path) == (f"{path}: is not UTF-8 text (bad byte at offset 9); save it as "
                                f"UTF-8.")
    path = write_scenario("korean.yaml", "name: \ub300\uad6c\n".encode("euc-kr"))
    assert "is not UTF-8 text" in load_error(path)


def test_utf8_names_are_fine(write_scenario, scenario_dict):
    """Hangul in names and descriptions is read as text."""
    data = scenario_dict()
    data["name"] = "\ub300\uad6c-\ubcc0\ud615"
    path = write_scenario("hangul.yaml", data)
    assert load_scenario(path).name == "\ub300\uad6c-\ubcc0\ud615"


def test_directory_or_missing_file_is_rejected(tmp_path):
    """A directory given instead of a file, or a path that does not exist."""
    assert load_error(tmp_path) == f"{tmp_path}: is a directory; expected a scenario file (YAML)."
    missing = tmp_path / "nope.yaml"
    assert load_error(missing) == f"{missing}: no such file."


def test_non_text_keys_are_rejected(write_scenario):
    """A key YAML reads as a number is named with its place in the file."""
    path = write_scenario("numkey.yaml", "name: k\nregions:\n  2015: {founding_rate_per_year: 1}\n")
    assert load_error(path) == (f"{path}: key 2015 at regions must be a name (text), found a whole "
                                f"number.")


def billion_laughs(levels: int, width: int) -> str:
    """A YAML alias bomb of ``levels`` levels, each ``width`` wide."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("levels", "width", "reason"), [
    (8, 9, "has more than 200,000 values"),  # the classic: 72 aliases expanding to 9**9 strings
    (12, 12, "too many aliases (more than 100)"),
])
def test_alias_bomb_is_rejected_quickly(write_scenario, levels, width, reason):
    """A YAML alias bomb is refused in well under a second instead of exhausting memory."""
    path = write_scenario("lol.yaml", billion_laughs(levels, width))
    start = time.perf_counter()
    msg = load_error(path)
    elapsed = time.perf_counter() - start
    assert msg.startswith(f"{path}:") and reason in msg
    assert elapsed < 2.0


# ---------------------------------------------------------------------------------------------
# the shipped scenarios and the hash
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["no-programme", "ccei-announced", "ccei-as-opened"])
def test_shipped_scenarios_load(shipped, name):
    """Every shipped scenario loads and validates, named as its file, with all 17 regions."""
    sc = load_scenario(shipped / f"{name}.yaml")
    assert sc.name == name
    assert len(sc.regions) == 17
    assert sc.description


def test_ccei_announced_pairs_centres_with_partners(shipped):
    """The announced programme: 17 centres, 15 conglomerates, and the pairings of the seed
    article."""
    sc = load_scenario(shipped / "ccei-announced.yaml")
    assert len(sc.centres) == 17 and len(sc.active_centres) == 17
    assert len(sc.conglomerates) == 15
    assert set(sc.centres) == set(sc.regions)
    partner = {name: c.partner for name, c in sc.centres.items()}
    assert partner["Daegu"] == partner["North Gyeongsang"] == "Samsung"
    assert partner["Gwangju"] == "Hyundai Motor"
    assert partner["Busan"] == "Lotte"
    assert partner["Daejeon"] == "SK"
    assert set(partner.values()) == set(sc.conglomerates)  # every partner has a centre
    # centre_defaults reach every centre unless the centre says otherwise
    raw = yaml.safe_load((shipped / "ccei-announced.yaml").read_text())
    defaults, congl = raw["centre_defaults"], raw["conglomerate_defaults"]
    assert sc.centres["Busan"].seats == defaults["seats"] != sc.centres["Daejeon"].seats == 20
    assert sc.centres["Busan"].grants.annual_budget_krw == defaults["grants"]["annual_budget_krw"]
    assert sc.centres["Daejeon"].grants.annual_budget_krw == 400_000_000
    assert sc.conglomerates["Lotte"].invest_probability == congl["invest_probability"]


def test_ccei_as_opened_changes_only_the_opening_dates(shipped):
    """The as-opened variant extends the announced programme and differs in opening dates (and its
    texts)."""
    announced = load_scenario(shipped / "ccei-announced.yaml").model_dump(mode="json")
    opened = load_scenario(shipped / "ccei-as-opened.yaml").model_dump(mode="json")
    assert (
        opened["centres"]["Seoul"]["opens"] == "2015-07" != announced["centres"]["Seoul"]["opens"]
    )
    for c in opened["centres"].values():
        c.pop("opens")
    for c in announced["centres"].values():
        c.pop("opens")
    for d in (announced, opened):
        d.pop("name")
        d.pop("description")
    assert opened == announced


def test_scenario_hash_is_stable_and_tracks_values(shipped):
    """The hash depends only on the resolved values: same file, same hash; one value changed, new
    hash."""
    path = shipped / "ccei-announced.yaml"
    h = scenario_hash(load_scenario(path))
    assert len(h) == 16 and int(h, 16) >= 0
    assert scenario_hash(load_scenario(path)) == h
    assert scenario_hash(load_scenario(path, ["centres.Daejeon.seats=21"])) != h
    assert scenario_hash(load_scenario(path, ["startups.quality_sigma=0.81"])) != h
    # the value it already has
    assert scenario_hash(load_scenario(path, ["centres.Daejeon.seats=20"])) == h
    assert scenario_hash(load_scenario(shipped / "ccei-as-opened.yaml")) != h


def test_scenario_hash_ignores_key_order(scenario_dict):
    """Two files listing the same values in a different order hash alike."""
    a = scenario_dict({"regions": {"East": {"founding_rate_per_year": 5}}})
    b = dict(reversed(list(a.items())))
    b["regions"] = dict(reversed(list(a["regions"].items())))
    assert scenario_hash(validate(a)) == scenario_hash(validate(b))


# ---------------------------------------------------------------------------------------------
# the key reference and --set wildcards
# ---------------------------------------------------------------------------------------------
def test_the_key_reference_document_is_the_schema_s_own():
    """docs/scenario-keys.md is exactly what `python run_sim.py keys` prints (regenerate it with
    that)."""
    from sim.scenario.reference import reference_markdown

    doc = Path(__file__).resolve().parents[1] / "docs" / "scenario-keys.md"
    assert doc.read_text(encoding="utf-8") == reference_markdown()


def test_the_key_reference_covers_every_leaf_with_a_meaning():
    """Every key of the schema is in the reference with a type and a sentence saying what it
    does."""
    from sim.scenario.reference import reference_markdown

    rows = [r for r in reference_markdown().splitlines() if r.startswith("| `")]
    keys = {r.split("`")[1] for r in rows}
    assert {
        "centres.<centre>.seats",
        "regions.<region>.founding_rate_per_year",
        "calendar.horizon",
        "conglomerates.<conglomerate>.annual_budget_krw",
        "centres.<centre>.grants.per_startup_krw",
        "startups.stages.<stage>.failure_hazard_per_month",
        "centre_defaults.*",
    } <= keys
    for r in rows:
        cells = [c.strip() for c in r.strip("|").split("|")]
        assert cells[1] and len(cells[5]) > 10, r
    assert len(rows) > 60


def test_set_wildcards_set_every_entry(shipped):
    """A ``*`` in --set sets the key of every entry, and never creates an entry named ``*``."""
    sc = load_scenario(
        shipped / "ccei-announced.yaml", ["centres.*.seats=41", "regions.*.hazard_multiplier=1.5"]
    )
    assert {c.seats for c in sc.centres.values()} == {41}
    assert {r.hazard_multiplier for r in sc.regions.values()} == {1.5}
    assert "*" not in sc.regions and "*" not in sc.centres


def test_set_of_an_entry_only_variants_have_names_the_scenarios_that_lack_it(shipped):
    """In a comparison --set reaches the counterfactual too: a centre key it lacks is an error
    naming it."""
    from sim.studies.compare import plan_compare

    with pytest.raises(ScenarioError) as exc:
        plan_compare([shipped / "ccei-announced.yaml"], overrides=["centres.Daejeon.seats=40"])
    msg = exc.value.message
    assert "no-programme.yaml has no centre 'Daejeon'" in msg and "counterfactual" in msg
    assert exc.value.exit_code == 2
    # a * over centres sets every centre that exists, and nothing in the counterfactual
    spec = plan_compare(
        [shipped / "ccei-announced.yaml"], overrides=["centres.*.seats=41"], replications=1
    )
    assert {c.seats for c in spec.scenarios["ccei-announced"].centres.values()} == {41}
    assert spec.scenarios["no-programme"].centres == {}
    with pytest.raises(ScenarioError, match="no scenario of the comparison has any centre"):
        plan_compare(
            [shipped / "no-programme.yaml"], baseline=None, overrides=["centres.*.seats=41"]
        )


# ---------------------------------------------------------------------------------------------
# one economy per comparison
# ---------------------------------------------------------------------------------------------
def test_economy_differences_name_each_section_and_leave_policy_alone(shipped):
    """The economy is calendar, sectors, start-ups, funding, the venture market, sampling and each
    region's founding; a policy's sections (centres, partners, founder education, public funds, a
    region's funding access) are not."""
    from sim.scenario.economy import economy_differences, is_economy_key
    from sim.scenario.loader import resolved_dict

    cf = resolved_dict(load_scenario(shipped / "no-programme.yaml"))
    for f in sorted(shipped.glob("*.yaml")):  # every shipped variant: its economy
        assert economy_differences(cf, resolved_dict(load_scenario(f))) == [], f.name
    small = resolved_dict(load_scenario(shipped / "ccei-announced.yaml", [
        "regions.Seoul.founding_rate_per_year=300", "sampling.others_weight=2",
        "calendar.horizon=2022-12"]))
    keys = [k for k, _, _ in economy_differences(cf, small)]
    assert keys == ["calendar.horizon", "sampling.others_weight",
                    "regions.Seoul.founding_rate_per_year"]
    dated = resolved_dict(load_scenario(shipped / "ccei-announced.yaml", [
        "timeline.2018-01.regions.Busan.founding_rate_per_year=9000"]))  # from a month on
    assert [k for k, _, _ in economy_differences(cf, dated)] == [
        "timeline.2018-01.regions.Busan.founding_rate_per_year"]
    extra = json.loads(json.dumps(cf))
    extra["regions"]["Atlantis"] = dict(extra["regions"]["Seoul"])
    del extra["regions"]["Jeju"]
    assert {(k, mine) for k, mine, _ in economy_differences(cf, extra)} == {
        ("regions.Jeju", "no such region"), ("regions.Atlantis", "a region")}
    assert is_economy_key("regions.Busan.founding_rate_per_year")
    assert is_economy_key("startups.quality_sigma")
    assert is_economy_key("market.coupling")  # the venture money there is
    assert not is_economy_key("funds.regional.size_krw")  # a policy's public fund
    assert not is_economy_key("regions.Busan.funding_access")
    market = resolved_dict(load_scenario(shipped / "ccei-announced.yaml",
                                         ["market.supply_multiplier=2"]))
    assert [k for k, _, _ in economy_differences(cf, market)] == ["market.supply_multiplier"]
    assert not is_economy_key("centres.Daejeon.seats")


def test_a_compare_of_another_economy_is_refused_and_a_counterfactual_beside_the_files_is_used(
        shipped, tiny, write_scenario, tmp_path):
    """Variants at a twentieth of the economy used to be compared with the real-scale shipped
    counterfactual without a word ("-412,887 start-ups alive"); an 18th region likewise."""
    from click.testing import CliRunner

    from sim.cli import cli
    from sim.studies.compare import plan_compare

    folder = tmp_path / "elsewhere"
    folder.mkdir()
    small = folder / "tiny.yaml"
    small.write_text(tiny.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["compare", str(small), "--baseline", "none", "--fixed", "-n", "1",
                                 "--out", str(out)])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and not out.exists()
    msg = " ".join(r.output.split())
    assert "counterfactual's economy" in msg and f"tiny ({small})" in msg
    assert "regions.Seoul.founding_rate_per_year is" in msg and "in no-programme" in msg
    assert str(shipped / "no-programme.yaml") in msg
    # an 18th region
    with pytest.raises(ScenarioError, match=r"regions\.Atlantis is a region there and no such"):
        plan_compare([write_scenario("atlantis.yaml", {
            "extends": "ccei-announced", "name": "atlantis",
            "regions": {"Atlantis": {"founding_rate_per_year": 100}},
            "market": {"region_shares": {"Atlantis": 1}}})],
            baseline=None, posterior=None)
    # the counterfactual beside the files is used before the shipped one, and the baseline too
    base = yaml.safe_load(tiny.read_text(encoding="utf-8"))
    # without the programme: no centres, partners, nor their dated changes
    none = dict(base, name="no-programme", centres={}, conglomerates={}, timeline={})
    write_scenario("no-programme.yaml", none, folder=folder)
    write_scenario("ccei-announced.yaml", dict(base, name="ccei-announced"), folder=folder)
    variant = write_scenario("more-seats.yaml", {"extends": "tiny.yaml", "name": "more-seats",
                                                 "centre_defaults": {"seats": 99}}, folder=folder)
    spec = plan_compare([small, variant], posterior=None)
    assert spec.sources["no-programme"] == str(folder / "no-programme.yaml")
    assert spec.sources["ccei-announced"] == str(folder / "ccei-announced.yaml")
    # a file of that name that holds another scenario is said, not used
    write_scenario("no-programme.yaml", dict(none, name="something-else"), folder=folder)
    with pytest.raises(UsageError, match="is named 'something-else', not 'no-programme'"):
        plan_compare([small], baseline=None, posterior=None)


# ---------------------------------------------------------------------------------------------
# YAML numbers as YAML 1.2 reads them: no base-60, no octal
# ---------------------------------------------------------------------------------------------
def test_an_unquoted_range_is_read_as_text_not_as_a_base_60_number(shipped, write_scenario):
    """YAML 1.1 reads 3:1 as 181 and 1:2.5 as 62.5: a prior range written unquoted got "found
    '181'" (or a range nobody wrote). Ranges are read as text, so 3:1 gets the range parser's own
    message."""
    from sim.analysis.targets import load_targets

    def targets(prior: str):
        text = ("name: t\nsurvival: {source: x, tolerance: 0.02, points: {1: 0.8}}\n"
                f"priors:\n  centre_defaults.selection_noise: {prior}\n"
                f"parameters:\n  centre_defaults.seats: {prior}\n")
        return write_scenario("t.yaml", text)

    with pytest.raises(ScenarioError) as exc:
        load_targets(targets("3:1"))
    assert "expected LOW < HIGH, found 3 and 1 (the bounds are reversed" in exc.value.message
    assert "181" not in exc.value.message
    t = load_targets(targets("1:2.5"))
    assert t.priors == ["centre_defaults.selection_noise=1:2.5"]
    assert t.parameters["centre_defaults.seats"] == (1.0, 2.5)
    # the same in a scenario file and in --set: 1:30 is not 90 seats, 010 is not 8
    bad = write_scenario("seats.yaml", "extends: ccei-announced\nname: seats\ncentres:\n  "
                                       "Daejeon: {seats: 1:30}\n")
    with pytest.raises(ScenarioError, match=r"centres\.Daejeon\.seats: .*found '1:30'"):
        load_scenario(bad)
    sc = load_scenario(shipped / "ccei-announced.yaml", ["centres.Daejeon.seats=010",
                                                          "centres.Busan.seats=1_000"])
    assert sc.centres["Daejeon"].seats == 10 and sc.centres["Busan"].seats == 1000
    # a history file (the published yearly series) is read the same way
    from sim.scenario.safe_yaml import load_yaml_text

    assert load_yaml_text("a: 3:1\nb: 010\nc: 0x10\nd: 1_000\ne: 1.5e+3") == {
        "a": "3:1", "b": "010", "c": 16, "d": 1000, "e": 1500.0}
