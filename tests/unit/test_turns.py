"""Turns read word by word (service.baselines.turns): which words and phrases tell of a turn."""

from __future__ import annotations

import pytest

from service.baselines.text import weighted_sentences
from service.baselines.turns import turns_in

# title -> the turns it tells of (keys: a stem, or both stems of a phrase)
TURNS: list[tuple[str, set[str]]] = [
    ("Nissan scraps plan to export EVs", {"scrap"}),
    ("Nissan may scrap its export plan", {"scrap"}),  # a stop counts however it is hedged
    ("Nissan calls off export talks", {"scrap"}),
    ("Nissan puts the plan on hold", {"delay"}),
    ("Nissan scraps the plan and halts exports", {"scrap", "stop"}),
    ("Nissan scales back its China plan", {"scale back"}),
    ("Nissan winds down output in Spain", {"scale back"}),
    ("Nissan pulls out of Russia", {"scrap"}),
    ("Nissan drops plan to export EVs", {"scrap"}),
    ("Nissan ends export talks with Dongfeng", {"scrap"}),
    ("Nissan kills the idea of a China plant", {"scrap"}),
    ("Nissan begins exports of China-made EVs", {"start"}),
    ("Exports of China-made EVs begin", {"start"}),
    ("Nissan kicks off exports", {"start"}),
    ("Exports get under way", {"start"}),  # every wording of a turn is one family
    ("Exports are underway", {"start"}),
    ("Nissan launches exports to the Gulf", {"start"}),
    ("Nissan resumes shipments", {"resume"}),
    ("Nissan scaled back its plan; Honda scales back too", {"scale back"}),
    ("Nissan makes U-turn on export plan", {"scrap"}),
    ("Nissan rules out exporting EVs", {"scrap"}),
    ("Nissan pulls the plug on exports", {"scrap"}),
    ("Nissan puts off the export plan", {"delay"}),
    ("Nissan stops exports of EVs", {"stop"}),
    ("Nissan drops China EV exports", {"scrap"}),
    ("Nissan launches China EV exports", {"start"}),
    ("Nissan announces launch of China EV exports", {"start"}),
    ("Nissan rolls out exports", {"start"}),
    ("Nissan ships first EVs overseas", {"start"}),
    ("Nissan signals end of China EV exports", {"scrap"}),
    ("China EV exports come to an end", {"scrap"}),
    ("Nissan backs off export plan", {"scrap"}),
    ("Nissan puts the brakes on exports", {"stop"}),
    ("Nissan goes ahead with export plan", {"start"}),
    ("Nissan China EV exports start May 1", {"start"}),  # the month after the start
    ("Nissan scraps export plan, sales fall", {"scrap"}),  # the trend is another clause's
    ("Nissan halts exports to stem losses", {"stop"}),
    ("Nissan drops plan for 10 new-energy models", {"scrap"}),
    ("As Nissan halts China EV exports, BYD gains", {"stop"}),  # opening the sentence: news
    ("Nissan's exports start in 2024", {"start"}),  # a start to come, dated
    ("Exports begin in May", {"start"}),
    ("In May, Nissan began exports", {"start"}),  # the month, not the hedge
    # a cause is not the object: these are stops
    ("Nissan export plan scrapped amid falling sales", {"scrap"}),
    ("Nissan halts exports as sales slump", {"stop"}),
    ("Nissan shelves plan over losses", {"scrap"}),
    # ends and drops of what is no plan
    ("Sales dropped 9% in May", set()),
    ("In the year ended March, exports rose", set()),
    ("Oil exports drop 15% below plan", set()),
    # starts that are a possibility, a plan, a first step, a date or a compound
    ("Nissan may start exporting cars", set()),
    ("Nissan plans to begin exports", set()),
    ("Nissan could launch exports", set()),
    ("Exports, starting with petrol models", set()),
    ("Nissan mulls exports at the start of 2024", set()),
    ("Nissan eyes Chinese start-ups", set()),
    ("The joint work started in 2016", set()),
    ("Exports have grown since they began in 2021", set()),
    ("Nissan will launch its first NEV", set()),  # a launch of a model, not of exports
    ("Nissan kicks the tyres", set()),
    ("Nissan kicks off the year weighing exports", set()),  # a start of a time
    ("Nissan mulls a high-end export plan", set()),
    ("Nissan's year-end plan: exports", set()),
    ("Nissan weighs exports by end of its business plan", set()),
    ("Nissan may pull out all the stops to export EVs", set()),
    ("Nissan pulls out of Russia", {"scrap"}),
    ("Nissan pushes back against export claims", set()),
    ("Talks under way on Nissan exporting EVs", set()),
    ("Nissan study on exporting EVs underway", set()),
    ("Nissan review of China EV exports under way", set()),
    ("Nissan weighs exporting EVs, starting from 2024", set()),
    ("Nissan weighs an option to start exporting EVs", set()),
    ("Nissan begins weighing exports", set()),
    ("Nissan begins a review of exports", set()),
    ("Nissan's exports started back in mid-2021", set()),
    ("Nissan weighs exports as rivals pull out of China", set()),  # background, not the news
    ("Nissan weighs EV exports from China, where rivals' exports are well under way", set()),
    ("China sales drop, Nissan weighs exports", set()),
    ("Nissan weighs exports to offset drop in sales", set()),
    ("Nissan could end up exporting China-made EVs", set()),
    ("Nissan stops short of exporting China-made EVs", set()),
    ("Nissan has no plans to end China production", set()),
    ("Nissan weighs exports but won't drop China production", set()),
    ("Nissan does not rule out exporting EVs", set()),
    ("Nissan weighs exports rather than pulling out of China", set()),
    ("Nissan isn't put off by China price war", set()),
    ("Will Nissan start exporting China-made EVs?", set()),
    ("Nissan hopes to begin exporting EVs", set()),
    ("Nissan kicks off 2024 by weighing exports", set()),
    ("Nissan mulls exports, with petrol cars to ship first", set()),
    ("Nissan EV exports have not yet begun", set()),
    ("Nissan explores the possibility of starting exports", set()),
    ("Nissan weighs a proposal to begin exporting EVs", set()),
    ("Nissan considers if it will start exporting EVs", set()),
    ("Nissan considers exports, a head start over Japanese rivals", set()),
    ("Nissan says it is too early to start exports", set()),
    ("Nissan weighs exports from the start of fiscal 2025", set()),
    ("Nissan weighs China exports; export preparations under way", set()),
    ("Nissan weighs exports in reverse of usual car trade", set()),
    ("Nissan mulls following Tesla, which began exporting from China in 2020", set()),
    ("Nissan weighs exports; Tesla started years ago", set()),
    ("Nissan reverses course on China exports", {"scrap"}),
    ("Nissan marks the beginning of China EV exports", {"start"}),
    ("Nissan marks the start of a new era", set()),
    ("Nissan begins to explore exports", set()),
    ("Nissan begins evaluating exports", set()),
    ("Nissan in talks to begin exporting cars", set()),
    ("Nissan eyes exports; decision to start is months away", set()),
    ("Nissan to go ahead with study of China EV exports", set()),
    ("Nissan launches export task force", set()),
    ("Nissan denies report it dropped export plan", set()),
    ("Nissan may, as early as next year, begin exporting EVs", set()),
    ("Nissan undecided on when to start exporting EVs", set()),
    ("Nissan open to starting exports", set()),
    ("Nissan mulls ending its China strategy", set()),
    ("Nissan weighs exports instead of halting production", set()),
    ("Will Nissan start exporting EVs? Analysts are split", set()),
    ("Nissan halts China EV exports: temporary or permanent?", {"stop"}),
    ("Nissan eyes exports to jump-start China plants", set()),
    ("Nissan's China EV exports end after six months", {"scrap"}),
    ("Nissan China EV export plan ended", {"scrap"}),
    ("Nissan drops its ambitious China EV export plan", {"scrap"}),
    ("Nissan ends two-year China EV export programme", {"scrap"}),
    ("Nissan halts loss-making China EV exports", {"stop"}),
    ("Nissan scraps declining China EV export business", {"scrap"}),
    ("Nissan too begins exporting EVs", {"start"}),
    ("Nissan yet again delays China EV exports", {"delay"}),
    ("Nissan's China EV export plan goes ahead despite tariffs", {"start"}),
    ("Nissan gets the go-ahead for China EV exports", {"start"}),
    ("Nissan's China EV exports to begin May", {"start"}),
    ("Nissan ends halt to China EV exports", {"resume"}),
    ("Nissan defers China EV export plan", {"delay"}),
    ("Nissan mothballs China EV export plan", {"scrap"}),
    ("Nissan will begin exporting EVs in May", {"start"}),
    ("Nissan forced to halt China EV exports", {"stop"}),
    ("Nissan's decision to scrap export plan", {"scrap"}),
    ("Nissan poised to start China EV exports", {"start"}),
    ("Nissan is starting China EV exports", {"start"}),
    ("Nissan starting China EV exports next month", {"start"}),
    ("Nissan EV exports from China begin", {"start"}),
    ("Nissan and Honda begin exporting EVs", {"start"}),
    ("Nissan stops exports under US ban", {"stop"}),  # a ban it stops under is no halt it ends
    ("Nissan halts China EV exports \u2014 what next?", {"stop"}),
    ("Nissan Keen To Start Exporting China-Made EVs", set()),
    ("Nissan Decision To Start Exports Is Months Away", set()),  # title case: "Decision" is no name
    ("Has Nissan begun exporting EVs to the U.S.?", set()),
    ("Will Nissan begin China EV exports by Jan. 1?", set()),
    ("Nissan China sales end year on a high", set()),
    ("Nissan considers exports that could end its China-for-China strategy", set()),
    ("Nissan Motor to begin exporting China-made EVs next year", {"start"}),
    ("Nissan Motor To Begin Exporting China-Made EVs Next Year", {"start"}),
    ("Nissan weighs exporting EVs to help restart idle lines", set()),
    ("Nissan considers having its China JV start exporting EVs", set()),
    ("Nissan considers exporting China-made EVs starting next year", set()),
    ("Nissan seeks approval to begin exporting EVs", set()),
    ("Nissan gets green light to begin China EV exports", {"start"}),
    ("Nissan rejects calls to scrap China EV export plan", set()),
    ("Nissan ends two-month halt to China EV exports", {"resume"}),
    ("Nissan's China EV export program ended last month", {"scrap"}),
    ("Nissan China sales end on a high note", set()),
    ("Nissan halts EV exports to U.S. Is the China plan dead?", {"stop"}),
    ("Nissan kick-starts exports of China-made EVs", {"start"}),
    ("Nissan is starting to think about exporting EVs", set()),
    ("Nissan begins to export China-made EVs", {"start"}),
    ("Nissan drops under-the-radar China EV export plan", {"scrap"}),
    ("Nissan will begin exporting EVs next year if tariffs allow", set()),
    # history and background in a body
    ("The company began selling cars in China in 1973", set()),
    ("Nissan started exporting from Mexico in the 1990s", set()),
    ("Production resumed in 2022 after lockdowns ended", set()),
    ("The automaker shut down a plant in Wuhan in 2023", set()),
    ("Talks with Dongfeng began", set()),
    ("The company will start by shipping petrol cars", set()),
    ("When the price war began, Nissan lost share", set()),
    ("The company has delayed nothing", set()),
    ("Nissan's exports of China-made EVs got under way in March", {"start"}),
    ("Nissan put its hand on the hold rail", set()),
    # turns of the market's course, not of a plan
    ("Nissan aims to reverse falling sales", set()),
    ("After a pause in sales growth", set()),
    ("Sales began to fall in May", set()),
    ("Nissan halts the slide in sales", set()),
    # refusals: a start or an activity the subject will not go through with
    ("Nissan won't go ahead with China EV exports", {"scrap"}),
    ("Nissan will not export EVs developed in China, the company said", {"scrap"}),
    ("Nissan no longer plans to export cars from China", {"scrap"}),
    ("Nissan said it would not open the research centre", {"scrap"}),
    ("Nissan decided not to proceed with exports", {"scrap"}),
    ("Nissan's China-made EVs will not be sold abroad after all", {"scrap"}),
    ("Nissan will not begin exporting EVs until 2026", {"delay"}),
    ("Nissan will not export China-made EVs until further notice", {"delay"}),
    # an order of the plan, not a refusal: before something that is no time, "first"
    ("Nissan won't ship China-made EVs abroad before its petrol cars", set()),
    ("Nissan will not export EVs from China at first but will start with combustion-engine cars", set()),
    ("Nissan won't go ahead with China EV exports but may revisit them", {"scrap"}),
    ("Without subsidies, Nissan would not export EVs", set()),  # a condition, no one said it
    ("Nissan will not export if tariffs rise", set()),
    ("In 2019 Nissan said it would not export from China", set()),  # history
    ("Will Nissan not export after all?", set()),
    ("Nissan has not started exporting", set()),
    ("Nissan is no longer the top seller", set()),
    ("Nissan will not comment on export plans", set()),
    ("Nissan will no longer export cars from China", {"scrap"}),
    ("Nissan is no longer considering exports from China", {"scrap"}),
    ("Nissan opts not to export China-made EVs", {"scrap"}),
    ("Nissan will not continue to export cars from China", {"scrap"}),
    # not refusals: an order, a state, a thing that is no plan, activity or place
    ("Nissan said it would not start with EVs but with its combustion-engine line-up", set()),
    ("Nissan will not start with EVs", set()),
    ("Nissan will not open new offices in Tokyo", set()),
    ("Nissan is no longer weighing job cuts in China, a spokesperson said", set()),
    ("Nissan weighs exporting China EVs, no longer seeks to dominate China market", set()),
    ("Nissan can no longer sell enough cars in China to fill its plants", set()),
    ("China no longer makes up a third of Nissan's sales", set()),
    ("Nissan no longer expects China sales to recover", set()),
    ("Nissan will not build new plants for China EV exports", set()),
    ("Nissan will not continue to rely on China sales alone", set()),
    # guards: denied, asked, background
    ("Nissan denies it will not export EVs", set()),
    ("Is it true that Nissan won't go ahead with exports?", set()),
    ("Nissan weighs exports while rivals will not ship to Europe", set()),
    # decisions on an activity, first shipments
    ("Nissan decides to export China-developed EVs", {"start"}),
    ("Nissan decided to cut prices", set()),
    ("Nissan may decide to export EVs", set()),
    ("Nissan sends first China-made plug-in hybrids abroad", {"start"}),
    ("Nissan has shipped its first China-built EVs overseas", {"start"}),
    ("Nissan weighs exports as rivals pull out of China", set()),
    # calls and prevention
    ("Column: Nissan should shelve the China export idea", set()),
    ("Nissan considers exports to stop its China sales from bleeding", set()),
    ("Nissan halts exports from its Wuhan plant", {"stop"}),
    # a turn acting on another tells that nothing turns; "first" with nothing after it is an order
    ("Nissan rules out dropping China EV plans", set()),
    ("Japanese carmakers must stop retreating from China", set()),
    ("Nissan delays scrapping the plan", set()),
    ("Nissan stops shipping cars to Russia", {"stop"}),
    ("Nissan's plan would see petrol models shipped first, followed by EVs", set()),
    # a first shipment carries vehicles; a compound does not end what a turn acts on
    ("Nissan sends first researchers to Tsinghua EV centre", set()),  # no cargo
    ("Nissan sent first China-made cars to Mexico in 2015", set()),  # history
    ("Nissan has yet to decide to export China-developed EVs", set()),
    # calls, unless a time follows; a stop after a comma is no object of the turn before it
    ("Nissan says shipments of China-made EVs should halt next month", {"stop"}),
    ("Nissan pulls out, halting China EV exports", {"stop"}),
    ("Nissan stops halting China EV exports", {"resume"}),
    ("Nissan stops delaying China EV exports", {"resume"}),
    ("Nissan starts halting China EV exports", {"stop"}),
    ("Investors say Nissan should shelve China export plan next year", set()),
    # approvals of an activity, in a finite form; hedges only before "to"
    ("Nissan board approves exports of Chinese-made EVs", {"start"}),
    ("Nissan approved a plan to export EVs from China", {"start"}),
    ("Nissan approves sales target for China", set()),
    ("Nissan needs Beijing to approve exports of China-made EVs", set()),
    ("In its boldest move yet Nissan starts exporting China-built EVs", {"start"}),
    ("Nissan ships first China-made Frontier Pro pickups overseas", {"start"}),
    ("Nissan ships its first 1,000 China-made vehicles to Latin America", {"start"}),
    ("Nissan sends first signal it may export China-made EVs", set()),
    ("Export analysts say Nissan should drop the China EV plan", set()),
    ("Nissan drops plug-in hybrids from China export plan", {"scrap"}),
]


@pytest.mark.parametrize(("title", "keys"), TURNS)
def test_the_turns_a_title_tells_of(title: str, keys: set[str]) -> None:
    assert set(turns_in(weighted_sentences(title, ""))) == keys


def test_a_title_counts_twice_and_each_body_sentence_once() -> None:
    turns = turns_in(weighted_sentences("Nissan scraps export plan", "The plan was scrapped. Sales rose."))
    assert turns == {"scrap": 3}


def test_a_dated_past_turn_is_history_up_to_the_baselines_year_and_news_after_it() -> None:
    sentences = weighted_sentences("Nissan began exporting China-made EVs in 2024", "")
    assert turns_in(sentences) == {}  # no baseline year: every dated past turn is history
    assert turns_in(sentences, known_until=2024) == {}
    assert turns_in(sentences, known_until=2023) == {"start": 2}


@pytest.mark.parametrize(
    ("title", "keys"),
    [
        ("Shares fall as Nissan scraps China export plan", {"scrap"}),
        ("BYD gains while Nissan Motor halts exports", {"stop"}),
        ("Nissan weighs exports as Ford pulls out of China", set()),  # a rival's turn: background
        ("Nissan weighs exports as rivals pull out of China", set()),
    ],
)
def test_an_as_clause_tells_the_news_when_its_subject_is_the_baselines(title: str, keys: set[str]) -> None:
    sentences = weighted_sentences(title, "")
    assert set(turns_in(sentences, subject=frozenset({"nissan"}))) == keys
    assert set(turns_in(sentences)) == set()  # no subject known: every such clause is background
