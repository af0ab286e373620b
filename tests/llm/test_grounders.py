"""Each grounder on requests written for these tests (no benchmark prompts), and the registry."""

import pytest

from townsquare.errors import InvalidInput
from townsquare.llm.grounders import (
    GROUNDERS,
    Argument,
    describe_grounders,
    ground,
    named_values,
    parse_grounders,
)
from townsquare.llm.request import Request


def offer(name: str, schema: dict, text: str, required: bool = True, others: dict | None = None, only: str = ""):
    properties = {name: schema, **(others or {})}
    arg = Argument(name, schema, required, [name] if required else [], properties)
    return ground(arg, Request.of(text), [only] if only else list(GROUNDERS))


def test_the_registry_lists_every_grounder_with_what_it_serves():
    names = [name for name, _ in describe_grounders()]
    assert names == list(GROUNDERS)
    assert {"numbers", "spans", "dates", "money", "enums", "booleans", "lists"} <= set(names)
    assert all("Serves" in (fn.__doc__ or "") for fn in GROUNDERS.values())  # each names its class of requests


def test_grounders_are_switched_by_name():
    assert parse_grounders("all") == list(GROUNDERS) == parse_grounders(None) == parse_grounders("")
    assert parse_grounders("spans,numbers") == ["numbers", "spans"]  # registry order
    assert parse_grounders("none") == [] == parse_grounders([])
    with pytest.raises(InvalidInput, match="unknown grounder"):
        parse_grounders("numbers,telepathy")


def test_numbers_are_read_as_the_argument_wants():
    got = offer("count", {"type": "integer"}, "Show me 12 posts from the last 3 days")
    assert got.grounder == "numbers" and set(got.values) == {12, 3}
    assert offer("share", {"type": "number"}, "give her 25% of it").values == [0.25]  # a rate is a fraction
    assert offer("share_percent", {"type": "number"}, "give her 25% of it").values == [25]
    assert offer("budget", {"type": "number"}, "a budget of 1.5 million").values == [1_500_000]
    assert offer("guests", {"type": "integer"}, "a table for five").values == [5]
    assert offer("count", {"type": "integer"}, "no digits at all") is None


def test_a_number_said_with_an_arguments_name_is_that_arguments():
    others = {"width": {"type": "integer"}}
    got = offer("height", {"type": "integer"}, "a banner with a width of 300 and a height of 120", others=others)
    assert got.values == [120] and got.fill == "must"
    got = offer("duration", {"type": "integer"}, "play it at 90 bpm for 40 seconds", others={"tempo": {"type": "integer"}})
    assert got.values == [40]  # the unit says what the number measures


def test_date_digits_fill_only_date_arguments():
    text = "Remind me on March 3, 2027 to call 2 people"
    assert offer("people", {"type": "integer"}, text).values == [2]
    assert offer("year", {"type": "integer"}, text).values == [3, 2027, 2]


def test_number_lists_keep_the_written_order():
    got = offer("scores", {"type": "array", "items": {"type": "integer"}}, "my scores were 7, 9 and 4 this week")
    assert got.grounder == "number_lists" and [7, 9, 4] in got.values and [9, 7] not in got.values


def test_spans_are_whole_phrases_copied_as_written():
    got = offer("topic", {"type": "string"}, "Find posts about home brewing in Porto")
    assert got.grounder == "spans"
    assert "home brewing" in got.values and "Porto" in got.values
    assert not any(v.startswith(("in ", "about ")) or v.endswith(" in") for v in got.values)
    assert "Find" not in got.values  # the request's own first word is no value
    quoted = offer("text", {"type": "string"}, 'Post "Good morning, neighbours! Coffee is on me." please')
    assert "Good morning, neighbours! Coffee is on me." in quoted.values


def test_enums_named_in_the_request_narrow_the_choice():
    schema = {"type": "string", "enum": ["newest", "oldest", "most_liked"]}
    got = offer("order", schema, "show my feed, most liked first")
    assert got.values == ["most_liked"] and got.fill == "must"
    assert offer("order", schema, "show my feed") is None  # the type grammar (every value) applies
    listed = {"type": "string", "description": "Mood, e.g. calm, upbeat or moody."}
    assert named_values(listed) == ["calm", "upbeat", "moody"]
    assert offer("mood", listed, "something upbeat please").values == ["upbeat"]


def test_an_optional_enum_is_not_filled_with_its_default():
    schema = {"type": "string", "enum": ["all", "friends"], "description": "Who sees it. Default is 'all'."}
    assert offer("audience", schema, "share it with all of them", required=False) is None


def test_booleans_follow_the_words_of_the_flag_and_negations():
    schema = {"type": "boolean"}
    assert offer("include_replies", schema, "list my posts with replies").values == [True]
    assert offer("include_replies", schema, "list my posts without replies").values == [False]
    assert offer("include_replies", schema, "list my posts") is None
    default_on = {"type": "boolean", "description": "Default is true."}
    assert offer("notify", default_on, "post it and notify people", required=False) is None  # already so


def test_dates_and_times_are_rendered_as_the_argument_wants():
    text = "Schedule it for 4th of July 2027 at 7:30 pm"
    assert offer("date", {"type": "string"}, text).values == ["2027-07-04"]
    assert offer("day", {"type": "string", "description": "Format DD/MM/YYYY."}, text).values == ["04/07/2027"]
    assert offer("time", {"type": "string"}, text).values == ["19:30"]
    assert offer("month", {"type": "string"}, "what did I post in September?").values == ["September"]


def test_money_gives_iso_codes_with_their_roles():
    text = "How much is 40 Swiss francs in euros?"
    assert offer("from_currency", {"type": "string"}, text).values == ["CHF"]
    assert offer("to_currency", {"type": "string"}, text).values == ["EUR"]
    assert offer("currency", {"type": "string"}, "tip them 5 dollars").values == ["USD"]


def test_addresses_are_taken_whole():
    text = "Send the invite to mira.k@example.org and attach ./notes/plan.txt"
    assert offer("email", {"type": "string"}, text).values == ["mira.k@example.org"]
    assert offer("file_path", {"type": "string"}, text).values == ["./notes/plan.txt"]


def test_handles_and_tags_for_arguments_about_people_and_tags():
    got = offer("handle", {"type": "string"}, "please follow @mira_k and say hi")
    assert got.grounder == "handles" and got.values == ["@mira_k"]
    assert offer("tags", {"type": "array", "items": {"type": "string"}}, "mute #spoilers and #news").values == [
        "#spoilers", "#news"]
    assert offer("handle", {"type": "string"}, "follow Mira please").grounder == "spans"


def test_the_tools_own_name_is_no_value():
    arg = Argument("title", {"type": "string"}, True, ["title"], {"title": {"type": "string"}}, "play")
    assert "play" not in ground(arg, Request.of("now play Blue Moon"), list(GROUNDERS)).values


def test_units_roles_and_lists():
    assert offer("unit", {"type": "string"}, "how far is it in miles").values == ["miles"]
    assert offer("unit", {"type": "string"}, "my 5 km run, in miles please", required=False).values == ["miles"]
    assert offer("unit", {"type": "string"}, "my 5 km run", required=False).fill == "no"  # km measures the 5
    text = "a route from Lyon to Nice"
    assert offer("origin", {"type": "string"}, text).values == ["Lyon"]
    assert offer("destination", {"type": "string"}, text).values == ["Nice"]
    tags = offer("tags", {"type": "array", "items": {"type": "string"}}, "tag it jazz, vinyl and live music")
    assert tags.items and {"jazz", "vinyl", "live music"} <= set(tags.values)


def test_switching_a_grounder_off_falls_back_to_the_next_one_or_the_type():
    text = "Schedule it for 4th of July 2027"
    assert offer("date", {"type": "string"}, text).grounder == "dates"
    without = ground(Argument("date", {"type": "string"}, True), Request.of(text),
                     [n for n in GROUNDERS if n != "dates"])
    assert without.grounder == "spans"  # free text instead of the rendered date
    assert ground(Argument("count", {"type": "integer"}, True), Request.of("show 5"), []) is None


def test_formulas_are_taken_whole_and_their_digits_fill_no_number():
    text = "plot g(x) = 4x^3 - x for x up to 6"
    assert offer("function", {"type": "string"}, text).values == ["4x^3 - x"]
    python = offer("expression", {"type": "string", "description": "In Python syntax."}, text)
    assert python.values[0] == "4x**3 - x"
    assert offer("limit", {"type": "integer"}, text).values == [6]  # not the 4 nor the 3 of the formula
    assert offer("function", {"type": "string"}, "plot my follower count") .grounder == "spans"


def test_only_the_words_that_tell_arguments_apart_align_numbers():
    props = {"first_score": {"type": "integer"}, "second_score": {"type": "integer"}}
    arg = Argument("second_score", props["second_score"], True, list(props), props)
    got = ground(arg, Request.of("scores of 7 then 9"), list(GROUNDERS))
    assert got.fill != "must" and set(got.values) == {7, 9}  # "score" names both: the model decides


def test_a_quantity_phrase_ends_a_name():
    values = offer("title", {"type": "string"}, "play Blue Moon for 20 minutes").values
    assert "Blue Moon" in values and "Blue Moon for 20" not in values


def test_units_after_numbers_are_not_formulas():
    assert offer("height", {"type": "number"}, "I am 1.75m tall and weigh 70kg").values == [1.75]
    assert offer("seconds", {"type": "integer"}, "wait 10s then 3x^2").values == [10]


def test_a_question_is_offered_as_written():
    values = offer("text", {"type": "string"}, "Translate Where is the station? into German").values
    assert "Where is the station?" in values
    assert "A by 10% soon" not in offer("product", {"type": "string"}, "sell product A by 10% soon").values
