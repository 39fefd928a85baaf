"""A fourth set of semantic-cache pairs (split ``fresh3``), held out from every guard change.

Written on 2026-11-30 (session 4), before any guard change of that session, by someone who had not
seen the guard's rules, its word lists or any earlier measurement of it: new templates and word
lists again (mountains, composers, elements, greetings, list operations, file reading, sorting,
unit and temperature conversions, percentages, World Cups, primes, planets, oceans, months,
symptoms, vaccines, landlord emails, banana bread; contrasts over workouts, trades, companies,
trips, medicines, nutrients, cities, dishes, years, topics and languages), over issue 18's
categories. Pairs are made as in ``cache_fresh``. Reported only, never tuned on.
"""

from __future__ import annotations

from loadtest.inprocess.cache_families import Family
from loadtest.inprocess.cache_fresh import make_pairs

# The lists read better grouped than one item a line, as ruff would put them.
# fmt: off
FRESH3_FAMILIES: tuple[Family, ...] = (
    # entity: places, people, works, chemical elements, languages
    Family("entity", ("What is the highest mountain in {x}?", "Which mountain is the tallest in {x}?",
                      "Tell me the name of the highest peak in {x}.", "highest mountain in {x}",
                      "Can you tell me what the tallest mountain in {x} is?", "I'd like to know which peak in {x} is the highest."),
           (("Japan",), ("Mexico",), ("Canada",), ("Argentina",), ("Turkey",), ("Kenya",), ("Norway",))),
    Family("entity", ("When was {x} born?", "{x} date of birth", "Tell me the birth date of {x}.",
                      "What's the date {x} was born?", "Could you tell me when {x} was born, please?"),
           (("Marie Curie",), ("Nelson Mandela",), ("Ada Lovelace",), ("Frida Kahlo",), ("Isaac Newton",), ("Jane Austen",))),
    Family("entity", ("Who composed {x}?", "Who wrote the music for {x}?", "Which composer wrote {x}?", "{x} composer",
                      "Can you tell me the name of the composer behind {x}?", "I'd like to know who composed {x}."),
           (("The Four Seasons",), ("The Magic Flute",), ("Swan Lake",), ("The Rite of Spring",), ("Clair de Lune",),
            ("The Planets",), ("Bolero",))),
    Family("entity", ("What is the atomic number of {x}?", "atomic number of {x}", "How many protons does an atom of {x} have?",
                      "Tell me the atomic number of {x}.", "What's the atomic number for {x}?"),
           (("sodium",), ("calcium",), ("nickel",), ("tin",), ("argon",), ("cobalt",), ("zinc",))),
    Family("entity", ("How do you say 'good morning' in {x}?", "What is 'good morning' in {x}?", "Translate 'good morning' into {x}.",
                      "'good morning' in {x}", "How would you say good morning in {x}?", "What's the {x} for good morning?"),
           (("Swahili",), ("Polish",), ("Vietnamese",), ("Greek",), ("Hungarian",), ("Korean",), ("Dutch",))),
    # code: operations, languages, data structures, sort order
    Family("code", ("How do I {x} a list in Python?", "What is the way to {x} a Python list?", "python {x} a list",
                    "Show me how to {x} a list in Python.", "How can you {x} a list using Python?",
                    "In Python, how would I {x} a list?"),
           (("sort",), ("reverse",), ("shuffle",), ("flatten",), ("deduplicate",), ("copy",))),
    Family("code", ("How do I read a file line by line in {x}?", "Read a text file one line at a time in {x}",
                    "What's the way to read a file line by line using {x}?", "Can you show me how to read each line of a file in {x}?",
                    "In {x}, how can I read a file line by line?"),
           (("Python",), ("JavaScript",), ("Java",), ("Go",), ("Rust",), ("C#",))),
    Family("code", ("How do I sort {x} in {y} order in Python?", "python sort {x} in {y} order",
                    "What's the Python code to sort {x} in {y} order?", "Show me how to sort {x} in {y} order using Python.",
                    "How would I sort {x} in {y} order with Python?"),
           (("a list", "ascending"), ("a list", "descending"), ("a dictionary by its keys", "descending"),
            ("a dictionary by its keys", "ascending"), ("a dictionary by its values", "ascending"),
            ("a dictionary by its values", "descending"))),
    # number: units, temperatures, percentages, years, ranges
    Family("number", ("Convert {x} to {y}.", "How many {y} is {x}?", "What is {x} in {y}?", "{x} to {y}",
                      "Can you convert {x} into {y} for me?", "How much is {x} in {y}?"),
           (("5 kilograms", "pounds"), ("5 pounds", "kilograms"), ("12 pounds", "kilograms"), ("12 ounces", "grams"),
            ("12 grams", "ounces"), ("30 grams", "ounces"), ("30 liters", "gallons"))),
    Family("number", ("What is {x} degrees Fahrenheit in Celsius?", "Convert {x}F to Celsius.", "{x} Fahrenheit to Celsius",
                      "How much is {x} degrees Fahrenheit in Celsius?", "What temperature in Celsius equals {x} degrees Fahrenheit?"),
           (("50",), ("68",), ("86",), ("104",), ("212",), ("32",))),
    Family("number", ("What is {x} percent of {y}?", "Calculate {x}% of {y}.", "{x}% of {y}", "How much is {x} percent of {y}?",
                      "Can you work out {x} percent of {y}?", "What do you get if you take {x}% of {y}?"),
           (("15", "80"), ("15", "60"), ("25", "60"), ("25", "120"), ("40", "120"), ("40", "80"))),
    Family("number", ("Who won the FIFA World Cup in {x}?", "Which country won the {x} World Cup?", "{x} World Cup winner",
                      "Tell me which team won the World Cup in {x}.", "who won the world cup in {x}"),
           (("1998",), ("2002",), ("2006",), ("2010",), ("2014",), ("2022",))),
    Family("number", ("List the prime numbers between {x} and {y}.", "What are the primes between {x} and {y}?",
                      "Which numbers between {x} and {y} are prime?", "Can you tell me every prime number between {x} and {y}?",
                      "Give me all the prime numbers between {x} and {y}, please."),
           (("10", "30"), ("10", "50"), ("30", "50"), ("30", "70"), ("50", "70"), ("50", "100"))),
    # antonym: superlatives, before/after, high/low
    Family("antonym", ("What is the {x} planet in the solar system?", "Which planet is the {x} in our solar system?",
                       "{x} planet in the solar system", "Tell me which planet in the solar system is the {x}.",
                       "Name the {x} planet in our solar system."),
           (("largest",), ("smallest",), ("hottest",), ("densest",), ("least dense",))),
    Family("antonym", ("What is the {x} ocean in the world?", "Which ocean is the {x} on Earth?", "{x} ocean in the world",
                       "Can you tell me which ocean is the {x} in the world?", "Tell me the {x} ocean on the planet."),
           (("largest",), ("smallest",), ("warmest",), ("saltiest",))),
    Family("antonym", ("Which month comes right {x} {y}?", "What month is right {x} {y}?", "Tell me the month that comes right {x} {y}.",
                       "month right {x} {y}", "What's the month right {x} {y}?"),
           (("before", "March"), ("after", "March"), ("after", "October"), ("before", "October"))),
    Family("antonym", ("What are the symptoms of {x}?", "What are the signs of {x}?", "{x} symptoms",
                       "Tell me the symptoms of {x}.", "Which symptoms does {x} cause?", "What symptoms come with {x}?"),
           (("high blood pressure",), ("low blood pressure",), ("low blood sugar",), ("high blood sugar",))),
    # constraint: length, detail, language, tone, diet
    Family("constraint", ("Explain how vaccines work {x}.", "How do vaccines work? Answer {x}.", "Tell me how vaccines work {x}, please.",
                          "Describe how vaccines work {x}.", "Can you explain how vaccines work {x}?"),
           (("in one sentence",), ("in detail",), ("in simple words",), ("in French",), ("in under 100 words",),
            ("in bullet points",))),
    Family("constraint", ("Write a {x} email asking my landlord to fix the heating.",
                          "Draft a {x} email to my landlord asking them to fix the heating.",
                          "Can you write a {x} email to my landlord about fixing the heating?",
                          "I need a {x} email asking my landlord to repair the heating.",
                          "Please write me a {x} email to my landlord requesting that the heating be fixed."),
           (("short",), ("long",), ("polite",), ("angry",), ("formal",), ("casual",))),
    Family("constraint", ("Give me a {x} recipe for banana bread.", "Can you share a {x} banana bread recipe?", "{x} banana bread recipe",
                          "How do I make {x} banana bread?", "I'm looking for a recipe for {x} banana bread."),
           (("vegan",), ("gluten-free",), ("sugar-free",), ("keto",), ("chocolate chip",))),
)

WORKOUTS = ("running", "swimming", "yoga", "cycling", "weightlifting", "rowing")
TRADES = ("electricians", "pilots", "pharmacists", "architects", "paramedics", "translators")
COMPANIES = ("Nintendo", "Netflix", "Ikea", "Samsung", "Boeing", "Spotify")
TRIPS = ("Japan", "Peru", "Iceland", "Vietnam", "Egypt", "Greece")
MEDICINES = ("ibuprofen", "paracetamol", "aspirin", "cetirizine", "loratadine")
NUTRIENTS = ("iron", "potassium", "fiber", "vitamin C", "magnesium", "zinc")
TOWNS = ("Lima", "Hanoi", "Reykjavik", "Marrakech", "Athens", "Osaka")
DISHES = ("salmon", "chicken thighs", "sweet potatoes", "lasagna", "meatloaf", "brownies")
NATIONS = ("Germany", "Poland", "Chile", "South Africa", "Brazil")
IDEAS = ("photosynthesis", "inflation", "the French Revolution", "the greenhouse effect", "recursion", "the Pythagorean theorem")
LANGS = ("Python", "JavaScript", "Java", "Ruby", "Swift")
FRESH3_CONTRASTS: tuple[tuple[str, tuple[tuple[str, str], ...], tuple[str, ...]], ...] = (
    ("negation", (("Reasons to start {x}", "Reasons not to start {x}"),
                  ("Which muscles does {x} work?", "Which muscles does {x} not work?"),
                  ("How can I get fit with {x}?", "How can I get fit without {x}?"),
                  ("Why do doctors recommend {x} for back pain?", "Why don't doctors recommend {x} for back pain?"),
                  ("Is {x} good for weight loss?", "Is {x} not good for weight loss?")), WORKOUTS),
    ("negation", (("Do all {x} need a license?", "Do any {x} need a license?"),
                  ("Why do most {x} work night shifts?", "Why do few {x} work night shifts?"),
                  ("Can every {x} work from home?", "Can only a few {x} work from home?"),
                  ("Why are some {x} paid well?", "Why are all {x} paid well?")), TRADES),
    ("negation", (("Which wine goes with {x}?", "Which wine does not go with {x}?"),
                  ("Sides to serve with {x}", "Sides not to serve with {x}"),
                  ("How do I make {x} with an oven?", "How do I make {x} without an oven?")), DISHES),
    ("tense", (("Who is the mayor of {x}?", "Who was the mayor of {x}?"),
               ("What is the population of {x}?", "What was the population of {x}?"),
               ("How do people get around {x}?", "How did people get around {x}?")), TOWNS),
    ("tense", (("Who runs {x}?", "Who ran {x}?"), ("What does {x} sell?", "What did {x} sell?"),
               ("Where is {x} headquartered?", "Where was {x} headquartered?"),
               ("How many people does {x} employ?", "How many people will {x} employ?"),
               ("Who owns {x}?", "Who owned {x}?"), ("Is {x} profitable?", "Was {x} profitable?")), COMPANIES),
    ("person", (("Do I need a visa to visit {x}?", "Does my sister need a visa to visit {x}?"),
                ("What should I pack for my trip to {x}?", "What should they pack for their trip to {x}?"),
                ("Can I drive in {x} with my license?", "Can my parents drive in {x} with their license?"),
                ("How much money should I bring to {x}?", "How much money should my kids bring to {x}?")), TRIPS),
    ("person", (("How often should I do {x}?", "How often should my grandmother do {x}?"),
                ("Is {x} safe with my bad knee?", "Is {x} safe with my husband's bad knee?")), WORKOUTS),
    ("person", (("How much {x} can I take in a day?", "How much {x} can my daughter take in a day?"),
                ("Can I take {x} with my blood pressure pills?", "Can my grandfather take {x} with his blood pressure pills?"),
                ("What dose of {x} should I take?", "What dose of {x} should my son take?")), MEDICINES),
    ("antonym", (("Which foods are high in {x}?", "Which foods are low in {x}?"),
                 ("What are the signs of too much {x}?", "What are the signs of too little {x}?"),
                 ("Foods that increase {x} absorption", "Foods that decrease {x} absorption"),
                 ("What is the maximum daily intake of {x}?", "What is the minimum daily intake of {x}?")), NUTRIENTS),
    ("antonym", (("What is the best time of year to visit {x}?", "What is the worst time of year to visit {x}?"),
                 ("Which is the oldest neighborhood in {x}?", "Which is the newest neighborhood in {x}?"),
                 ("Is {x} more expensive than Madrid?", "Is {x} less expensive than Madrid?"),
                 ("What should I see first in {x}?", "What should I see last in {x}?")), TOWNS),
    ("number", (("How long do I bake {x} at 180 C?", "How long do I bake {x} at 220 C?"),
                ("How many calories are in 100 grams of {x}?", "How many calories are in 250 grams of {x}?"),
                ("Give me a {x} recipe that serves 2.", "Give me a {x} recipe that serves 8."),
                ("Can I keep cooked {x} in the fridge for 3 days?", "Can I keep cooked {x} in the fridge for 7 days?")), DISHES),
    ("number", (("What major events happened in {x} in 1989?", "What major events happened in {x} in 1994?"),
                ("Who led {x} in the 1970s?", "Who led {x} in the 1990s?"),
                ("What was the population of {x} in 1950?", "What was the population of {x} in 2000?")), NATIONS),
    ("constraint", (("Explain {x} in one sentence.", "Explain {x} in detail."),
                    ("Explain {x} to a child.", "Explain {x} to a university professor."),
                    ("Write a haiku about {x}.", "Write a sonnet about {x}."),
                    ("Give me a quiz on {x} with five questions.", "Give me a quiz on {x} with twenty questions."),
                    ("Summarize {x} in Italian.", "Summarize {x} in Japanese.")), IDEAS),
    ("code", (("How do I sort an array in {x}?", "How do I reverse an array in {x}?"),
              ("How do I convert a string to an integer in {x}?", "How do I convert an integer to a string in {x}?"),
              ("How do I remove the first element of an array in {x}?", "How do I remove the last element of an array in {x}?"),
              ("How do I sort numbers in ascending order in {x}?", "How do I sort numbers in descending order in {x}?"),
              ("How do I check if a string starts with a prefix in {x}?", "How do I check if a string ends with a suffix in {x}?"),
              ("How do I split a string into words in {x}?", "How do I join a list of words into a string in {x}?"),
              ("How do I loop over a list in {x}?", "How do I loop over a dictionary in {x}?")), LANGS),
)
# fmt: on


def fresh3_pairs() -> list[dict]:
    """Every pair of this set, split ``fresh3``."""
    return make_pairs(FRESH3_FAMILIES, FRESH3_CONTRASTS, "fresh3")
