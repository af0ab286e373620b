"""Our own synthetic tool set for calibrating tool relevance (never benchmark data).

Each tool comes with requests it can serve and *near misses*: requests from the same domain that it
cannot serve (the hard case for "should I call a tool at all?"), plus unrelated chatter.
``calibrate()`` scores every (request, tool) pair with the same ``ToolRouter`` the runtime uses and
picks the threshold with the best balanced accuracy; ``townsquare bench tool-relevance`` prints it.
"""

from __future__ import annotations

from typing import Any

# (name, description, requests it serves, near-miss requests it does not serve)
TOOLS: list[tuple[str, str, list[str], list[str]]] = [
    ("get_weather", "Get the current weather conditions for a city.",
     ["Is it raining in Dublin right now?", "What's the temperature in Cairo today?"],
     ["What is the average rainfall in the Amazon per year?", "Why is the sky blue?"]),
    ("convert_currency", "Convert an amount of money from one currency to another at today's rate.",
     ["How much is 200 dollars in euros?", "Convert 5000 yen to pounds."],
     ["What is the history of the euro?", "Who prints the US dollar bills?"]),
    ("rectangle_area", "Calculate the area of a rectangle from its width and length.",
     ["What's the area of a 4 by 7 rectangle?", "Area of a rectangle 12 m wide and 3 m long."],
     ["What is the volume of a sphere with radius 3?", "Find the perimeter of a hexagon with side 2."]),
    ("book_flight", "Book a flight between two airports on a given date.",
     ["Book me a flight from Boston to Denver on May 3.", "I need a plane ticket from Rome to Oslo next Friday."],
     ["How long is the train ride from Paris to Lyon?", "What's the luggage limit for carry-on bags?"]),
    ("search_posts", "Search posts in the community by keywords or hashtags.",
     ["Find posts about #photography.", "Show me posts mentioning the jazz festival."],
     ["Delete my last post.", "How many followers do I have?"]),
    ("follow_account", "Follow another account by its handle.",
     ["Follow @maria_k please.", "Start following the account dan.codes."],
     ["Who are the most popular people on the internet?", "Block @spam_bot."]),
    ("translate_text", "Translate a text into another language.",
     ["Translate 'good morning' into Japanese.", "How do you say 'thank you' in German?"],
     ["How many languages are spoken in India?", "Which language is hardest to learn?"]),
    ("get_stock_price", "Get the latest trading price of a stock by ticker symbol.",
     ["What's Apple's stock price right now?", "Current price of TSLA?"],
     ["Should I invest in real estate or bonds?", "What does a stockbroker do?"]),
    ("find_recipe", "Find cooking recipes that use given ingredients.",
     ["Give me a recipe with chicken and leeks.", "What can I cook with eggs, spinach and feta?"],
     ["How many calories does an apple have?", "Which restaurant has the best pizza in Naples?"]),
    ("calculate_bmi", "Calculate body mass index from weight in kilograms and height in meters.",
     ["My weight is 70 kg and height 1.75 m, what's my BMI?", "Compute BMI for 90 kilograms and 1.8 meters."],
     ["How many hours of sleep does an adult need?", "Calculate the area of a circle with radius 2 meters."]),
    ("set_timer", "Start a countdown timer for a number of minutes.",
     ["Set a timer for 15 minutes.", "Countdown 3 minutes for my tea."],
     ["What time is it in Tokyo?", "How many minutes are there in a week?"]),
    ("get_time_zone", "Get the current local time in a city.",
     ["What time is it in Sydney?", "Tell me the local time in Lima."],
     ["When was the time zone system invented?", "Set an alarm for 6 am."]),
    ("factorial", "Compute the factorial of a non-negative integer.",
     ["What is 7 factorial?", "Compute the factorial of 12."],
     ["What is the square root of 81?", "Solve the equation 2x + 3 = 9."]),
    ("find_restaurants", "Find restaurants near a location by cuisine.",
     ["Find Thai restaurants near Soho.", "Any vegan places to eat in Berlin Mitte?"],
     ["How do I make pad thai at home?", "What is the origin of sushi?"]),
    ("movie_showtimes", "List showtimes for a movie at cinemas in a city.",
     ["When is Dune playing in Chicago tonight?", "Showtimes for Oppenheimer in Leeds."],
     ["Who directed The Godfather?", "Recommend a good book about film history."]),
    ("send_message", "Send a direct message to another member.",
     ["Send Alex a message saying I'll be late.", "DM @jo: see you at noon."],
     ["What is the longest word in English?", "Write me a poem about the sea."]),
    ("distance_between_cities", "Get the driving distance between two cities.",
     ["How far is Madrid from Barcelona by car?", "Driving distance from Denver to Austin?"],
     ["What is the speed of light?", "How tall is Mount Everest?"]),
    ("compound_interest", "Calculate compound interest on a principal over years at an annual rate.",
     ["What will 1000 dollars be worth after 5 years at 4% compounded yearly?",
      "Compound interest on 2500 at 3 percent for 10 years."],
     ["What is the current inflation rate?", "Calculate the standard deviation of 2, 4, 4, 5."]),
    ("get_team_score", "Get the final score of a team's most recent game.",
     ["How did the Lakers do in their last game?", "Final score of Arsenal's latest match?"],
     ["Who invented basketball?", "How many players are on a soccer team?"]),
    ("create_event", "Create a calendar event with a title, date and time.",
     ["Add a dentist appointment on June 4 at 10am.", "Schedule 'team lunch' for Friday at noon."],
     ["What day of the week was July 4, 1776?", "How many days until Christmas?"]),
    # Science and maths: near misses ask for a different quantity about the same things.
    ("kinetic_energy", "Calculate the kinetic energy of a moving object from its mass and velocity.",
     ["What's the kinetic energy of a 2 kg ball moving at 3 m/s?", "Kinetic energy for mass 1500 kg at 20 m/s."],
     ["What is the momentum of a 2 kg ball at 3 m/s?", "How high does a ball go if thrown up at 10 m/s?"]),
    ("circle_area", "Compute the area of a circle given its radius.",
     ["Area of a circle with radius 5?", "How much surface does a round table of radius 0.6 m cover?"],
     ["What is the circumference of a circle with radius 5?", "What is the volume of a cylinder of radius 2?"]),
    ("ohms_law_current", "Calculate the electric current from voltage and resistance using Ohm's law.",
     ["What current flows through a 10 ohm resistor at 5 volts?", "Current for 230 V across 50 ohms?"],
     ["What is the power used by a 60 watt bulb in 3 hours?", "What is the capacitance of two parallel plates?"]),
    ("mean_of_numbers", "Compute the arithmetic mean of a list of numbers.",
     ["Average of 3, 8, 10 and 15?", "What's the mean of 2.5, 3.5 and 9?"],
     ["What is the median of 3, 8, 10 and 15?", "Find the largest number in 4, 9, 2."]),
    ("gcd", "Find the greatest common divisor of two integers.",
     ["Greatest common divisor of 48 and 18?", "What is the gcd of 100 and 75?"],
     ["Least common multiple of 4 and 6?", "Is 97 a prime number?"]),
    ("boiling_point_at_altitude", "Estimate the boiling point of water at a given altitude.",
     ["At what temperature does water boil at 3000 meters?", "Boiling point of water in Denver at 1600 m?"],
     ["At what temperature does water freeze at 3000 meters?", "How much energy does it take to boil 1 kg of water?"]),
    ("cell_division_stage", "Describe a stage of mitosis in a cell.",
     ["What happens during metaphase?", "Explain anaphase in mitosis."],
     ["How many chromosomes does a human cell have?", "What does the mitochondria do?"]),
    ("population_growth", "Project a population after some years at a constant growth rate.",
     ["Population of 2 million growing 1.5% a year, how many after 10 years?",
      "Project 50,000 people at 3 percent growth for 5 years."],
     ["What is the most populated country?", "What is the population density of Japan?"]),
]

CHATTER = ["Tell me a joke.", "Hi, how are you?", "Write a haiku about autumn.", "What's the meaning of life?",
           "Thanks, that's all for now."]


def pairs() -> list[tuple[str, str, str, bool]]:
    """(request, tool name, tool description, relevant?) for every tool against its own requests,
    its near misses, every other tool's requests, and chatter."""
    out = []
    for name, description, serves, misses in TOOLS:
        for request in serves:
            out.append((request, name, description, True))
        for request in misses + CHATTER:
            out.append((request, name, description, False))
        for other, _, other_serves, _ in TOOLS:
            if other != name:
                out.append((other_serves[0], name, description, False))
    return out


def calibrate(settings: Any = None) -> dict[str, Any]:
    """Score all pairs; pick the threshold with the best mean of three rates: requests served that
    pass, near misses that are stopped, other non-matching requests that are stopped."""
    from townsquare.llm.tools import Tool, ToolRouter

    router = ToolRouter(settings=settings)
    near_misses = {(request, name) for name, _, _, misses in TOOLS for request in misses}
    groups: dict[str, list[float]] = {"served": [], "near_miss": [], "other": []}
    for request, name, description, relevant in pairs():
        score = float(router.scores(request, [Tool(name, description, {"type": "object", "properties": {}})])[0])
        group = "served" if relevant else "near_miss" if (request, name) in near_misses else "other"
        groups[group].append(score)

    def rates(threshold: float) -> tuple[float, float, float]:
        served = sum(s >= threshold for s in groups["served"]) / len(groups["served"])
        near = sum(s < threshold for s in groups["near_miss"]) / len(groups["near_miss"])
        other = sum(s < threshold for s in groups["other"]) / len(groups["other"])
        return served, near, other

    best = max((step / 100 for step in range(5, 80)), key=lambda t: (sum(rates(t)), -t))
    served, near, other = rates(best)
    return {"threshold": best, "served_called": round(served, 3), "near_miss_stopped": round(near, 3),
            "other_stopped": round(other, 3), **{f"n_{k}": len(v) for k, v in groups.items()}}
