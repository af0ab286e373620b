"""Type-aware argument values: dates, currencies, requested flags, spans as written, number readings and
the repeated-number self-check (no model needed; grammars are checked with llama.cpp's own parser)."""

import datetime as dt

from townsquare.llm.grammar import ArgumentsGrammar, Grounding, numbers_in
from townsquare.llm.tool_calling import aligned_numbers, grounded_optional, repeated_numbers, requested_flags
from townsquare.llm.tools import normalise_tools
from townsquare.llm.values import currencies_in, date_format, date_values, dates_in


def _parses(grammar_text: str) -> None:
    from llama_cpp import LlamaGrammar

    LlamaGrammar.from_string(grammar_text, verbose=False)  # raises on a malformed grammar


def _tool(properties: dict, required: list[str]):
    return normalise_tools([{"name": "f", "description": "d", "parameters": {
        "type": "object", "properties": properties, "required": required}}])[0]


def test_dates_written_loosely_are_read():
    assert dates_in("closing price on March.11, 2022 please") == [dt.date(2022, 3, 11)]
    assert dates_in("air quality in London 2022/08/16?") == [dt.date(2022, 8, 16)]
    assert dates_in("from 2023 April 4th to April 8th") == [dt.date(2023, 4, 4), dt.date(2023, 4, 8)]
    assert dates_in("starting from 10th of December 2022") == [dt.date(2022, 12, 10)]
    assert dates_in("on 25/12/2021") == [dt.date(2021, 12, 25)]  # day first: 25 is no month
    assert dates_in("May I have 3 apples in 2020?") == []  # "May" without a day is not a date
    assert dates_in("see you on May 3") == []  # no year anywhere: no date to render


def test_date_arguments_take_the_format_their_description_names():
    assert date_format("Must be in MM-DD-YYYY format.") == "%m-%d-%Y"
    assert date_format("in the format mm/dd/yyyy") == "%m/%d/%Y"
    assert date_format("The date (month-day-year) to query") == "%m-%d-%Y"
    assert date_format("The day of the trip") == "%Y-%m-%d"  # ISO 8601 unless told
    text = "Book it from July 10, 2022 to July 20, 2022"
    assert date_values("check_in", {"type": "string", "description": "Format DD-MM-YYYY."}, text) == [
        "10-07-2022", "20-07-2022"]
    assert date_values("start_date", {"type": "string"}, text) == ["2022-07-10", "2022-07-20"]
    assert date_values("format", {"type": "string", "description": "Default is 'MM-DD-YYYY'."}, text) == []
    assert date_values("city", {"type": "string"}, text) == []


def test_currencies_are_iso_codes():
    assert currencies_in("How many Canadian dollars can I get for 500 US dollars?") == ["CAD", "USD"]
    assert currencies_in("I have 100 euro. How much is it in JPY?") == ["EUR", "JPY"]
    assert currencies_in("The team won 3 games") == []


def test_the_grammar_offers_only_rendered_dates_and_codes():
    tool = _tool({"date": {"type": "string", "description": "Format: yyyy-mm-dd."},
                  "to_currency": {"type": "string"}}, ["date", "to_currency"])
    builder = ArgumentsGrammar(Grounding.from_text("Convert to euros at the rate of March 3, 2021"))
    text = builder.render(builder.arguments(tool.parameters))
    _parses(text)
    assert '"\\"2021-03-03\\""' in text and '"\\"EUR\\""' in text
    assert '"\\"March 3\\""' not in text.split("span ::=")[0]  # spans are not offered for these two


def test_flags_the_message_asks_for():
    tool = _tool({"start": {"type": "string"}, "avoid_tolls": {"type": "boolean", "description": "Default is false."},
                  "include_traffic": {"type": "boolean"}, "fast": {"type": "boolean", "description": "Default true."}},
                 ["start"])
    assert requested_flags(tool, Grounding.from_text("Route from Rome with toll roads avoided")) == {"avoid_tolls": True}
    assert requested_flags(tool, Grounding.from_text("Route from Rome, without traffic")) == {"include_traffic": False}
    assert requested_flags(tool, Grounding.from_text("A fast route from Rome")) == {}  # already the default
    assert requested_flags(tool, Grounding.from_text("Route from Rome")) == {}
    builder = ArgumentsGrammar(Grounding.from_text("Route from Rome with toll roads avoided"))
    text = builder.render(builder.arguments(tool.parameters, include=[], fixed={"avoid_tolls": True}))
    _parses(text)
    assert '"\\"avoid_tolls\\": "' in text and '"true"' in text


def test_optional_values_named_in_the_description_but_not_the_default():
    tool = _tool({"actor": {"type": "string"},
                  "category": {"type": "string", "description": "e.g. 'drama' or 'comedy'. Default is 'all'"}},
                 ["actor"])
    assert grounded_optional(tool, Grounding.from_text("Find all movies with Tom Hanks")) == {}
    assert grounded_optional(tool, Grounding.from_text("Find a comedy with Tom Hanks")) == {"category": ["comedy"]}


def test_spans_are_copied_as_written():
    spans = Grounding.from_text("Details of the case titled 'Roe v. Wade'.Include the dissent").spans()
    assert "Roe v. Wade" in spans and not any("Include" in span and "Wade" in span for span in spans)
    spans = Grounding.from_text("Score for 'The Legend of Zelda: Breath of the Wild' on Switch").spans()
    assert "The Legend of Zelda: Breath of the Wild" in spans
    spans = Grounding.from_text("Translate Hello, how are you? from English").spans()
    assert "Hello, how are you?" in spans and not any("? from" in span for span in spans)
    spans = Grounding.from_text("Stats of Ronaldo's matches for a gas-powered car with id `DNA123`").spans()
    assert {"Ronaldo", "gas", "DNA123"} <= spans
    quoted = Grounding.from_text("Sentiment of the review 'I love it here! It's always fresh and tasty, every time.'")
    assert "I love it here! It's always fresh and tasty, every time." in quoted.spans()


def test_more_number_readings():
    assert numbers_in("charges of 1e-9 and 2.5E3") == [1e-9, 2500]
    assert 23 in numbers_in("open until 11 PM") and 4 in numbers_in("compounded quarterly")
    grounding = Grounding.from_text("trait A weighs 40% and trait B 60%, values 0.8 and 0.7")
    rule = ArgumentsGrammar(grounding).value({"type": "array", "items": {"type": "number"}}, "w", "weights")
    assert '"[0.4, 0.6]"' in rule and '"[40, 60]"' in rule


def test_a_number_written_once_fills_one_argument():
    grounding = Grounding.from_text("An object dropped from 100 m, and 3 and 3 again")
    assert repeated_numbers({"height": 100, "initial_velocity": 100}, grounding) == {"initial_velocity": [100]}
    assert repeated_numbers({"a": 3, "b": 3}, grounding) == {}  # written twice
    assert repeated_numbers({"x": [0.8, 0.7], "y": [0.8, 0.7]}, grounding) == {"y": [[0.8, 0.7]]}
    builder = ArgumentsGrammar(grounding, avoid={"initial_velocity": [100]})
    rule = builder.value({"type": "number"}, "v", "initial_velocity")
    assert '"100"' not in rule and '"3"' in rule


def test_optional_lists_of_named_examples_and_defaults_said_for_the_argument():
    tool = _tool({"city": {"type": "string"},
                  "diet": {"type": "array", "items": {"type": "string"},
                           "description": "Dietary needs, e.g. vegan, gluten-free. Default is empty list."},
                  "model": {"type": "string", "description": "The model to use. Default is 'Darwin'."}}, ["city"])
    offered = grounded_optional(tool, Grounding.from_text("Thai food in Oslo with a vegan menu, using Darwin model"))
    assert offered == {"diet": ["vegan"], "model": ["Darwin"]}
    assert grounded_optional(tool, Grounding.from_text("Thai food in Oslo, Darwin said")) == {}
    builder = ArgumentsGrammar(Grounding.from_text("vegan food in Oslo"))
    text = builder.render(builder.arguments(tool.parameters, include=["diet"], choices={"diet": ["vegan"]}))
    _parses(text)
    assert '"\\"vegan\\""' in text


def test_number_lists_stay_within_numbers_written_together():
    grounding = Grounding.from_text("dataset_A with the values 12, 24, 36 and dataset_B with the values 15, 30, 45.")
    assert grounding.groups == [0, 0, 0, 1, 1, 1]
    rule = ArgumentsGrammar(grounding).value({"type": "array", "items": {"type": "integer"}}, "a", "dataset_A")
    assert '"[12, 24, 36]"' in rule and '"[15, 30, 45]"' in rule
    assert '"[12, 24, 36, 15, 30, 45]"' not in rule
    interval = ArgumentsGrammar(Grounding.from_text("from x=1 to x=3")).value(
        {"type": "array", "items": {"type": "number"}}, "i", "interval")
    assert '"[1, 3]"' in interval  # two neighbours still make a pair


def test_numbers_said_right_after_an_argument_name_fill_it():
    tool = _tool({"net_income": {"type": "integer"}, "shareholder_equity": {"type": "integer"},
                  "dividends_paid": {"type": "integer"}}, ["net_income", "shareholder_equity", "dividends_paid"])
    text = "Return on equity with net income of $2,000,000, shareholder's equity of $10,000,000, dividends paid of $200,000"
    assert aligned_numbers(tool, Grounding.from_text(text), tool.required) == {
        "net_income": [2_000_000], "shareholder_equity": [10_000_000], "dividends_paid": [200_000]}
    xy = _tool({"x": {"type": "integer"}, "y": {"type": "integer"}}, ["x", "y"])
    assert aligned_numbers(xy, Grounding.from_text("sides 4 and 5"), xy.required) == {}  # nothing to go on


def test_percentages_fill_rates_as_fractions_unless_the_argument_is_a_percentage():
    grounding = Grounding.from_text("Invest $5000 at an annual rate of 3% for 5 years")
    assert 0.03 in grounding.numbers_for("rate", {"type": "number", "description": "The annual interest rate."})
    assert 3 not in grounding.numbers_for("rate", {"type": "number"})
    assert 3 in grounding.numbers_for("rate", {"type": "number", "description": "The rate as a percentage."})
    assert 3 in grounding.numbers_for("increase", {"type": "integer"})  # an integer is never a fraction
    assert 0.03 not in grounding.numbers_for()  # each number once
    rule = ArgumentsGrammar(grounding).value({"type": "number", "description": "Yearly interest rate."}, "r", "rate")
    assert '"0.03"' in rule and '"3"' not in rule


def test_date_digits_and_frequency_words_are_numbers_only_for_their_arguments():
    grounding = Grounding.from_text("A room for 2 nights starting from 15th October, 2023, paid monthly")
    assert grounding.numbers_for("nights", {"type": "integer"}) == [2]
    assert 2023 in grounding.numbers_for("year", {"type": "integer"})
    assert 12 in grounding.numbers_for("payments_per_year", {"type": "integer"})
    assert grounding.numbers_for() == [2]
    # words that are numbers: "two adults" stays a number; a year written alone is not a date
    assert 2 in Grounding.from_text("two adults from April 4th to April 8th, 2023").numbers_for("adults", {})
    assert 2020 in Grounding.from_text("3 apples in 2020").numbers_for("count", {})


def test_optional_arguments_that_repeat_a_number_are_left_out():
    from townsquare.llm.tool_calling import ToolCaller
    from townsquare.llm.tools import ToolRouter
    from townsquare.llm.types import ChatResult

    class Scripted:
        name = "scripted"

        def __init__(self, replies):
            self.replies = list(replies)

        def chat(self, messages, **kwargs):
            return ChatResult(text=self.replies.pop(0))

    tool = _tool({"principal": {"type": "number"}, "years": {"type": "integer"},
                  "times_per_year": {"type": "integer"}}, ["principal", "years"])
    caller = ToolCaller(Scripted(['{"principal": 1000, "years": 5, "times_per_year": 5}']), ToolRouter())
    calls, _ = caller.arguments(tool, "Invest 1000 for 5 years", parallel=False)
    assert calls == [{"principal": 1000, "years": 5}]


def test_a_span_in_two_free_text_slots_and_overlapping_spans():
    from townsquare.llm.tool_calling import shared_span, trim_overlaps

    tool = _tool({"genre": {"type": "string"}, "instrument": {"type": "string"},
                  "colors": {"type": "array", "items": {"type": "string"}},
                  "season": {"type": "string"}, "year": {"type": "integer"},
                  "kind": {"type": "string", "enum": ["a", "b"]}, "other": {"type": "string", "enum": ["a", "b"]}}, [])
    assert shared_span(tool, {"genre": "Jazz", "instrument": "jazz"})
    assert shared_span(tool, {"genre": "sky blue", "colors": ["red", "sky blue"]})
    assert not shared_span(tool, {"genre": "Jazz", "instrument": "piano", "kind": "a", "other": "a"})
    assert trim_overlaps(tool, {"genre": "theft in California", "instrument": "California"})["genre"] == "theft"
    assert trim_overlaps(tool, {"genre": "La Liga 2020-2021", "season": "2020-2021"})["genre"] == "La Liga"
    assert trim_overlaps(tool, {"genre": "Super Mario Bros. from 1985", "year": 1985})["genre"] == "Super Mario Bros."
    assert trim_overlaps(tool, {"genre": "Paris", "season": "Paris"})["genre"] == "Paris"  # never emptied


def test_currency_roles_follow_the_amount_and_from_to():
    from townsquare.llm.values import currency_roles, currency_values

    text = "What is the cost in British Pounds if I convert 200 US dollars?"
    assert currency_roles(text) == ("USD", "GBP")
    assert currency_values("base_currency", {"type": "string"}, text) == ["USD"]
    assert currency_values("target_currency", {"type": "string"}, text) == ["GBP"]
    assert currency_roles("How much will 20000 Japanese Yen be in US dollars?") == ("JPY", "USD")
    assert currency_roles("Rate from EUR to GBP") == ("EUR", "GBP")
    assert currency_roles("Is the euro stronger than the dollar?") is None  # no roles said
    assert currency_values("currency", {"type": "string"}, text) == ["GBP", "USD"]


def test_units_and_linking_words_align_numbers():
    tool = _tool({"frequency": {"type": "integer"}, "duration": {"type": "integer"}}, ["frequency", "duration"])
    text = "Generate a sound of 440Hz frequency for 5 seconds."
    assert aligned_numbers(tool, Grounding.from_text(text), tool.required) == {"frequency": [440], "duration": [5]}
    # the name said after one number and before the next, with other words between: no alignment
    tool = _tool({"principal": {"type": "number"}, "annual_yield": {"type": "number"}}, ["principal", "annual_yield"])
    text = "The value of $2000 invested at a 5% annual yield after 3 years"
    assert "annual_yield" not in aligned_numbers(tool, Grounding.from_text(text), tool.required)


def test_frequency_words_offer_only_count_per_period_optionals():
    tool = _tool({"value": {"type": "integer"}, "rate": {"type": "number"}, "years": {"type": "integer"},
                  "periods_per_year": {"type": "integer", "description": "Times compounded per year. Default 1."},
                  "face_value": {"type": "integer", "description": "Face value, default is 1000."}},
                 ["value", "rate", "years"])
    offered = grounded_optional(tool, Grounding.from_text("$5000 at 5% for 3 years with monthly compounding"))
    assert "periods_per_year" in offered and "face_value" not in offered


def test_alignment_never_forces_a_number_that_does_not_fit():
    tool = _tool({"check_in": {"type": "string"}, "no_of_adults": {"type": "integer"}}, ["check_in", "no_of_adults"])
    text = "A hotel for two adults in Paris from 2023 April 4th to April 8th"
    assert "no_of_adults" not in aligned_numbers(tool, Grounding.from_text(text), tool.required)


# --- session 4 -------------------------------------------------------------------------------------


def test_enum_values_the_message_mentions_limit_the_enum():
    from townsquare.llm.tool_calling import enum_mentions, mentioned_values

    assert mentioned_values(["ascending", "descending"], "Sort the list in ascending order") == ["ascending"]
    assert mentioned_values(["basic", "detailed"], "the punishments for theft, in detail") == ["detailed"]
    assert mentioned_values(["scriptures", "historical records"], "from historical record") == ["historical records"]
    assert mentioned_values(["New", "Like New", "Used"], "a game from 1985 like new") == ["Like New"]
    assert mentioned_values(["AA", "Aa", "aa"], "frequency of the AA genotype") == ["AA"]  # case decides
    assert mentioned_values(["small", "large"], "a green bird") == []
    assert mentioned_values(["A", "T", "C", "G"], "Generate a DNA sequence with more G and C") == ["G", "C"]
    tool = _tool({"items": {"type": "array"}, "order": {"type": "string", "enum": ["ascending", "descending"]},
                  "level": {"type": "string", "enum": ["sedentary", "lightly active", "very active"]}},
                 ["items", "order", "level"])
    grounding = Grounding.from_text("Sort [3, 1, 2] in descending order for a lightly active person")
    assert enum_mentions(tool, grounding) == {"order": ["descending"], "level": ["lightly active"]}
    assert enum_mentions(tool, Grounding.from_text("Sort [3, 1, 2]")) == {}


def test_optional_values_said_for_sure_must_be_filled():
    from townsquare.llm.tool_calling import sure_optional

    tool = _tool({"sample": {"type": "array", "items": {"type": "integer"}},
                  "significance_level": {"type": "number", "description": "Default 0.05."},
                  "tail": {"type": "string", "enum": ["one", "two"]},
                  "rounding": {"type": "integer"}, "unit": {"type": "string"}}, ["sample"])
    grounding = Grounding.from_text("Test [1, 2, 3] at a significance level of 0.01, two tail, in meters")
    assert sure_optional(tool, grounding) == ["significance_level", "tail"]  # not the unit: a guess
    assert sure_optional(tool, Grounding.from_text("Test [1, 2, 3] with 0.01 after 4 rounds")) == []
    # the grammar then always holds them
    builder = ArgumentsGrammar(grounding)
    text = builder.render(builder.arguments({**tool.parameters, "required": ["sample", "significance_level"]},
                                            include=["significance_level"]))
    _parses(text)
    args_rule = next(line for line in text.splitlines() if line.startswith("args ::="))
    assert "significance-level" in args_rule and ")?" not in args_rule  # present, and not optional


def test_the_grammar_forces_sure_optionals_and_mentioned_enums():
    from townsquare.llm.tool_calling import ToolCaller
    from townsquare.llm.tools import ToolRouter
    from townsquare.llm.types import ChatResult

    grammars = []

    class Recording:
        name = "recording"

        def chat(self, messages, grammar=None, **kwargs):
            grammars.append(grammar)
            return ChatResult(text='{"items": [3, 1, 2], "order": "descending", "stable": true}')

    tool = _tool({"items": {"type": "array", "items": {"type": "integer"}},
                  "order": {"type": "string", "enum": ["ascending", "descending"]},
                  "stable": {"type": "boolean"}, "method": {"type": "string", "enum": ["quick", "merge"]}},
                 ["items", "order"])
    ToolCaller(Recording(), ToolRouter()).arguments(tool, "Sort [3, 1, 2] in descending order by merge", False)
    args_rule = next(line for line in grammars[0].splitlines() if line.startswith("args ::="))
    assert '"\\"method\\": "' in grammars[0] and "?" not in args_rule.split("method")[-1][:40]
    assert '"\\"ascending\\""' not in grammars[0]


def test_durations_align_and_percentages_never_count_periods():
    tool = _tool({"principal": {"type": "integer"}, "rate": {"type": "number"}, "time": {"type": "integer"},
                  "n": {"type": "integer", "description": "Number of times interest is compounded per year."}},
                 ["principal", "rate", "time", "n"])
    text = "Compound interest on $10000 at 5% compounded 4 times a period, invested for 10 years"
    assert aligned_numbers(tool, Grounding.from_text(text), ["time"]) == {"time": [10]}
    grounding = Grounding.from_text("$5000 at an annual rate of 3% for 5 years, compounded quarterly")
    assert 3 not in grounding.numbers_for("n", tool.properties["n"]) and 4 in grounding.numbers_for("n", tool.properties["n"])
    assert 3 in grounding.numbers_for("n", tool.properties["n"], strict=False)  # still counted as offered


def test_ordinal_numbers_written_together_make_one_list():
    grounding = Grounding.from_text("Analyse building B1004 for 2nd, 3rd and 4th floors")
    rule = ArgumentsGrammar(grounding).value({"type": "array", "items": {"type": "integer"}}, "f", "floors")
    assert '"[2, 3, 4]"' in rule


def test_spans_are_whole_phrases():
    spans = Grounding.from_text("Records of my house at 123 main street, with parcel number 12 in Santa Clara county").spans()
    assert "123 main street" in spans and "Santa Clara county" in spans
    assert not any(span.endswith((" in", " with", " at")) or span.startswith(("in ", "at ")) for span in spans)
    assert not any(", with" in span for span in spans) and "me" not in spans
    spans = Grounding.from_text("Find me a vegan recipe for brownies from 'Gone with the'").spans()
    assert "for" not in spans and "me" not in spans and "vegan recipe" in spans
    assert "Gone with the" in spans  # quoted text is kept as written


def test_addresses_are_taken_whole():
    from townsquare.llm.values import address_values

    text = "Send an email to John Doe at john.doe@example.com with the subject 'Meeting'"
    assert address_values("to", {"type": "string", "description": "The email address to send to."}, text) == [
        "john.doe@example.com"]
    assert address_values("subject", {"type": "string", "description": "The subject of the email"}, text) == []
    assert address_values("data_source", {"type": "string", "description": "The path where the data is stored."},
                          "Analyze my fMRI data in ~/data/myfMRI.nii, smoothed") == ["~/data/myfMRI.nii"]
    assert address_values("website", {"type": "string"}, "calories in the lasagna from Foodnetwork.com?") == [
        "Foodnetwork.com"]
    assert address_values("url", {"type": "string"}, "no address here") == []
    rule = ArgumentsGrammar(Grounding.from_text(text)).value(
        {"type": "string", "description": "The email address to send to."}, "t", "to")
    assert rule == '"\\"john.doe@example.com\\""'


def test_spans_of_time_said_in_words_count_only_in_their_unit():
    from townsquare.llm.tool_calling import _can_ground_numbers

    grounding = Grounding.from_text("IMAX releases near LA for the next week")
    days = {"type": "integer", "description": "The number of days from today."}
    assert grounding.numbers_for("timeframe", days) == [7]
    assert grounding.numbers_for("screens", {"type": "integer"}) == []
    assert Grounding.from_text("deer growth over the past decade").numbers_for(
        "duration", {"type": "integer", "description": "The period in years."}) == [10]
    assert Grounding.from_text("in 2 weeks").durations == {}  # a number with its unit is read as written
    # "no invented numbers": a span of time lets only a tool counted in that unit be called
    assert _can_ground_numbers(_tool({"timeframe": days}, ["timeframe"]), grounding)
    assert not _can_ground_numbers(_tool({"screens": {"type": "integer"}}, ["screens"]), grounding)


def test_a_span_in_two_slots_is_decoded_again_without_it_for_a_relevant_tool():
    from townsquare.llm.tool_calling import ToolCaller, ToolLayerConfig, span_reused
    from townsquare.llm.types import ChatResult

    tool = _tool({"name": {"type": "string"}, "maker": {"type": "string"}, "year": {"type": "integer"}},
                 ["name", "maker", "year"])
    assert span_reused(tool, {"name": "Violin", "maker": "violin", "year": 1721}) == ("maker", ["violin"])
    assert span_reused(tool, {"name": "Violin", "maker": "Amati"}) is None
    assert span_reused(tool, {"name": "1721", "maker": "Amati", "year": 1721}) == ("name", ["1721"])
    # the later slot's grammar no longer offers the repeated text
    rule = ArgumentsGrammar(Grounding.from_text("the Violin by Amati"), avoid={"maker": ["Violin"]}).value(
        {"type": "string"}, "m", "maker")
    assert rule.startswith("span-avoid")

    class Scripted:
        name = "scripted"

        def __init__(self, replies):
            self.replies, self.grammars = list(replies), []

        def chat(self, messages, grammar=None, **kwargs):
            self.grammars.append(grammar)
            return ChatResult(text=self.replies.pop(0))

    class Router:
        threshold = 0.33

        def __init__(self, score):
            self.score = score

        def rank(self, query, tools):
            return [(tools[0], self.score)]

    messages = [{"role": "user", "content": "Details of the Violin by Amati from 1721"}]
    first, second = '{"name": "Violin", "maker": "Violin", "year": 1721}', '{"name": "Violin", "maker": "Amati", "year": 1721}'
    backend = Scripted([first, second])
    caller = ToolCaller(backend, Router(0.8), ToolLayerConfig(span_retry_relevance=0.5))
    result = caller.call(messages, [tool], respond=False)
    assert [call.arguments for call in result.tool_calls] == [{"name": "Violin", "maker": "Amati", "year": 1721}]
    assert 'args-name-v ::= "\\"Violin\\""' in backend.grammars[1]  # the earlier slot is kept as decoded
    # below the retry relevance, or when the retry repeats the span again: no call
    caller = ToolCaller(Scripted([first]), Router(0.4), ToolLayerConfig(span_retry_relevance=0.5))
    assert caller.call(messages, [tool], respond=False).tool_calls == []
    caller = ToolCaller(Scripted([first, first]), Router(0.8), ToolLayerConfig(span_retry_relevance=0.5))
    assert caller.call(messages, [tool], respond=False).tool_calls == []


def test_flags_few_status_and_required_defaults():
    tool = _tool({"talkative": {"type": "boolean"}, "artistic_interests": {"type": "boolean"},
                  "closed_status": {"type": "boolean"},
                  "formatted": {"type": "boolean", "description": "Formatted string if true. Default is true."}},
                 ["talkative", "artistic_interests", "closed_status", "formatted"])
    flags = requested_flags(tool, Grounding.from_text("I'm talkative, have few artistic interests; is it closed?"))
    assert flags == {"talkative": True, "artistic_interests": False, "closed_status": True, "formatted": True}
    flags = requested_flags(tool, Grounding.from_text("talkative, with a few artistic interests"))
    assert flags["artistic_interests"] is True and "closed_status" not in flags


def test_lists_get_the_items_the_message_joins_and_all_named_values():
    from townsquare.llm.tool_calling import extend_lists, mentioned_values

    tool = _tool({"ingredients": {"type": "array", "items": {"type": "string"}}, "calories": {"type": "integer"}},
                 ["ingredients"])
    text = "A lunch recipe under 500 calories that uses chicken and mushrooms."
    assert extend_lists(tool, {"ingredients": ["chicken"], "calories": 500}, text)["ingredients"] == [
        "chicken", "mushrooms"]
    assert extend_lists(tool, {"ingredients": ["Santa Barbara"]}, "stops at Santa Barbara and Monterey.")[
        "ingredients"] == ["Santa Barbara", "Monterey"]
    assert extend_lists(tool, {"ingredients": ["fruits"]}, "organic fruits and vegetables in Houston")[
        "ingredients"] == ["fruits", "vegetables"]
    assert extend_lists(tool, {"ingredients": ["cats"]}, "Posts about cats and show me the top ones")[
        "ingredients"] == ["cats"]  # "show me" is no item
    # named values come in the order the message says them
    assert mentioned_values(["Organic", "Vegetables", "Fruits"], "organic fruits and vegetables") == [
        "Organic", "Fruits", "Vegetables"]


def test_a_number_written_once_in_two_required_slots_after_the_checks_means_no_call():
    from townsquare.llm.tool_calling import ToolCaller
    from townsquare.llm.types import ChatResult

    class Scripted:
        name = "scripted"

        def __init__(self, replies):
            self.replies = list(replies)

        def chat(self, messages, grammar=None, **kwargs):
            return ChatResult(text=self.replies.pop(0))

    class Router:
        threshold = 0.33

        def rank(self, query, tools):
            return [(tools[0], 0.9)]

    tool = _tool({"number": {"type": "integer"}, "skip": {"type": "integer"}}, ["number", "skip"])
    messages = [{"role": "user", "content": "What is the closest integer to 30?"}]
    same = '{"number": 30, "skip": 30}'
    caller = ToolCaller(Scripted([same] * 3), Router())
    assert caller.call(messages, [tool], parallel=False, respond=False).tool_calls == []
    fixed = '{"number": 30, "skip": 2}'
    messages = [{"role": "user", "content": "Closest prime to 30, skipping 2"}]
    calls = ToolCaller(Scripted([same, fixed]), Router()).call(messages, [tool], parallel=False, respond=False).tool_calls
    assert [call.arguments for call in calls] == [{"number": 30, "skip": 2}]


def test_request_words_open_no_value_and_end_a_span_at_a_new_sentence():
    spans = Grounding.from_text("Who discovered the neutron? Give me detail information.").spans()
    assert "neutron" in spans and not any(span.startswith(("Who", "Give")) for span in spans)
    spans = Grounding.from_text("The last game played by Liverpool F.C. Include its statistics.").spans()
    assert "Liverpool F.C" in spans and not any("Include" in span and "Liverpool" in span for span in spans)
    assert "Book Club" in Grounding.from_text("A table at Book Club, please").spans()  # mid-sentence: a name


def test_math_arguments_take_the_expressions_written():
    from townsquare.llm.grammar import expressions_in, is_math_argument

    assert expressions_in("the area under the curve y=x^2 from x=1 to x=3") == ["x^2"]
    assert expressions_in("the integral of f(x) = 3x^2 from 1 to 2") == ["3x^2"]
    assert expressions_in("the curve y=3x^2 + 2x - 4, between x = -1 and x = 2") == ["3x^2 + 2x - 4"]
    assert expressions_in("the derivative of 2x^2 at x = 1") == ["2x^2"]
    assert expressions_in("roots with a = 3 and b = -11") == []
    assert is_math_argument("function", {"type": "string"}) and is_math_argument("func", {"type": "string"})
    assert is_math_argument("function1", {"type": "string"}) and is_math_argument("target_function", {})
    assert not is_math_argument("function_variable", {"type": "string"})  # the variable's name: "x"
    assert not is_math_argument("functional_area", {"type": "string"})
    rule = ArgumentsGrammar(Grounding.from_text("Intersection of y=3x+2 and y=2x+3")).value(
        {"type": "string"}, "f", "function1")
    assert rule == '"\\"3x+2\\"" | "\\"2x+3\\""'


def test_numbers_said_in_words_of_physics_and_geography():
    grounding = Grounding.from_text("GPS coordinates (33.4484 N, 112.0740 W) and (34.0522 N, 118.2437 W)")
    assert grounding.sequence == [33.4484, -112.074, 34.0522, -118.2437]  # west is negative
    assert -112.074 in grounding.numbers and 100 in Grounding.from_text("a 100 W bulb").numbers  # watts stay
    assert 6.2832 in numbers_in("a sine wave from 0 to 2 pi")
    dropped = Grounding.from_text("The final speed of an object dropped from 100 m")
    assert dropped.numbers_for("initial_velocity", {"type": "integer"}) == [100, 0]
    assert dropped.numbers_for("height", {"type": "integer"}) == [100]


def test_lists_of_named_items_hold_every_one_the_message_says():
    from townsquare.llm.tool_calling import complete_lists, enum_mentions

    tool = _tool({"details": {"type": "array", "items": {"type": "string",
                                                         "enum": ["high_low_temperature", "humidity", "precipitation"]}},
                  "avoid": {"type": "array", "items": {"type": "string"}, "description": "e.g. 'highways', 'tolls'."}},
                 ["details"])
    text = "High and low temperatures, humidity, and precipitation, avoiding highways and toll roads"
    assert enum_mentions(tool, Grounding.from_text(text)) == {  # "and" may stand between a value's words
        "details": ["high_low_temperature", "humidity", "precipitation"]}
    done = complete_lists(tool, {"details": ["high_low_temperature", "humidity"], "avoid": ["Highways"]}, text)
    assert done == {"details": ["high_low_temperature", "humidity", "precipitation"], "avoid": ["Highways", "tolls"]}


def test_from_and_to_arguments_take_what_follows_from_and_to():
    from townsquare.llm.grammar import role_words

    grounding = Grounding.from_text("Convert time 3pm from New York time zone to London time zone.")
    assert role_words("from_timezone") == {"from"} and role_words("destination") == {"to", "into"}
    assert role_words("timezone") == set() and role_words("from_to") == set()
    assert "New York" in grounding.spans_after({"from"}) and "London" not in grounding.spans_after({"from"})
    assert grounding.spans_after({"to", "into"}) == {"London", "London time", "London time zone"}
    rule = ArgumentsGrammar(grounding).value({"type": "string"}, "t", "to_timezone")
    assert rule == '"\\"London\\"" | "\\"London time\\"" | "\\"London time zone\\""'
    assert ArgumentsGrammar(Grounding.from_text("Convert 3pm London time")).value(
        {"type": "string"}, "t", "to_timezone").startswith("span")  # no "to": any span


def test_months_and_typed_optionals_are_filled():
    from townsquare.llm.tool_calling import sure_optional
    from townsquare.llm.values import month_values

    assert month_values("month", {"type": "string"}, "solar potential in December, given 80 sq ft") == ["December"]
    assert month_values("month", {"type": "string"}, "on December 13, 2019") == []  # a date, not a month
    tool = _tool({"coordinates": {"type": "array"}, "month": {"type": "string"}, "date": {"type": "string"}},
                 ["coordinates"])
    assert sure_optional(tool, Grounding.from_text("At [43.6, -79.3] in December")) == ["month"]
    assert sure_optional(tool, Grounding.from_text("At [43.6, -79.3] on January 1, 2022")) == ["date"]


def test_list_items_inside_other_items_are_dropped():
    from townsquare.llm.tool_calling import _dedupe_lists

    assert _dedupe_lists({"s": ["criminal law", "law", "tax law", "criminal law"]}) == {"s": ["criminal law", "tax law"]}


def test_coefficients_and_powers_are_no_values():
    grounding = Grounding.from_text("The derivative of the function 2x^2 at x = 1")
    assert grounding.numbers_for("value", {"type": "integer"}) == [1]
    assert Grounding.from_text("charges of 5C and 7C, 3 meters apart").numbers_for("charge", {}) == [5, 7, 3]


def test_a_time_in_24_hour_format_takes_the_afternoon_reading():
    grounding = Grounding.from_text("A vegan restaurant open until at least 11 PM")
    assert grounding.numbers_for("operating_hours", {"type": "integer", "description": "In 24 hour format."}) == [23]
    assert 11 in grounding.numbers_for("operating_hours", {"type": "integer"})


def test_an_end_date_is_the_start_plus_the_stay():
    text = "Book a room at the Plaza Hotel for 3 nights starting from 1st June 2022"
    assert date_values("start_date", {"type": "string"}, text) == ["2022-06-01"]
    assert date_values("end_date", {"type": "string"}, text) == ["2022-06-04"]
    assert date_values("check_out", {"type": "string", "description": "MM-DD-YYYY"}, text) == ["06-04-2022"]
    assert date_values("end_date", {"type": "string"}, "from June 1, 2022 to June 5, 2022, 3 nights") == [
        "2022-06-01", "2022-06-05"]  # both dates written: nothing to derive


def test_a_span_held_in_another_slots_value_is_the_same_span():
    from townsquare.llm.tool_calling import shared_span, span_reused

    tool = _tool({"artwork": {"type": "string"}, "museum": {"type": "string"}, "artist": {"type": "string"}}, [])
    assert span_reused(tool, {"artwork": "The Scream", "museum": "Scream"}) == ("museum", ["Scream"])
    assert shared_span(tool, {"artwork": "Picasso", "artist": "Picasso's"})
    assert not shared_span(tool, {"artwork": "Screaming Man", "museum": "Scream"})  # words, not letters
    assert not shared_span(tool, {"artwork": "The Scream", "museum": "National Museum"})


class ScriptedLLM:
    """A backend that answers with scripted replies and records the grammar of each call."""

    name = "scripted"

    def __init__(self, replies, grammars):
        self.replies, self.grammars = list(replies), grammars

    def chat(self, messages, grammar=None, **kwargs):
        from townsquare.llm.types import ChatResult

        self.grammars.append(grammar)
        return ChatResult(text=self.replies.pop(0))


def test_a_repeated_number_the_later_argument_keeps_is_taken_from_the_earlier_one():
    from townsquare.llm.tool_calling import ToolCaller, ToolLayerConfig

    grammars = []
    tool = _tool({"initial_velocity": {"type": "integer"}, "height": {"type": "integer"}}, ["initial_velocity", "height"])
    same = '{"initial_velocity": 100, "height": 100}'
    caller = ToolCaller(ScriptedLLM([same, same, '{"initial_velocity": 0, "height": 100}'], grammars), None, ToolLayerConfig())
    calls, _ = caller.arguments(tool, "The final speed of an object dropped from 100 m", parallel=False)
    assert calls == [{"initial_velocity": 0, "height": 100}]
    assert 'args-initial-velocity-v ::= "0"' in grammars[2]  # the third decode takes 100 from the earlier one


def test_a_lowercase_article_opens_no_value_but_a_name_keeps_its_the():
    spans = Grounding.from_text("Who discovered the neutron? Hours of The British Museum").spans()
    assert "neutron" in spans and "the neutron" not in spans and "The British Museum" in spans


def test_spare_numbers_with_a_unit_of_another_kind_offer_no_optional_and_untyped_values_are_grounded():
    tool = _tool({"hotel": {"type": "string"}, "start_date": {"type": "string"}, "rooms": {"type": "integer"},
                  "stay": {"type": "integer", "description": "Number of nights."}}, ["hotel", "start_date"])
    offered = grounded_optional(tool, Grounding.from_text("Plaza Hotel for 3 nights starting from 1st June 2022"))
    assert "rooms" not in offered and "stay" in offered
    rule = ArgumentsGrammar(Grounding.from_text("100 trees on the provided data my_data")).value({}, "d", "data")
    assert rule.startswith("span") and '"100"' in rule  # a span or a number, not any JSON value


def test_a_later_argument_gives_up_a_second_repeat_it_was_not_told_to_avoid():
    from townsquare.llm.tool_calling import ToolCaller, ToolLayerConfig

    grammars = []
    tool = _tool({"principal": {"type": "integer"}, "time": {"type": "integer"},
                  "n": {"type": "integer", "description": "Times compounded per year."}}, ["principal", "time", "n"])
    replies = ['{"principal": 5000, "time": 5, "n": 5}', '{"principal": 5000, "time": 5, "n": 5000}',
               '{"principal": 5000, "time": 5, "n": 4}']
    calls, _ = ToolCaller(ScriptedLLM(replies, grammars), None, ToolLayerConfig()).arguments(
        tool, "$5000 for 5 years, compounded quarterly", parallel=False)
    assert calls == [{"principal": 5000, "time": 5, "n": 4}]
    assert '"5000"' in next(line for line in grammars[2].splitlines() if line.startswith("args-principal-v"))
    assert '"5000"' not in next(line for line in grammars[2].splitlines() if line.startswith("args-n-v"))
