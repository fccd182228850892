"""Synthetic game-chat corpus for the Roblox v2 voice-safety taxonomy.

Every example is produced from a hand-written *template* with slots (``{insult}``, ``{group}``,
...) filled from word lists, then optionally decorated (chat fillers, addressing a player,
concatenation with a second benign or toxic message) and, for text training, obfuscated
("f*ck", "fuuuck", "b1tch", "f u c k"). Templates carry their labels; a concatenation carries the
union of both parts' labels, which yields multi-label overlaps.

Templates are split deterministically: roughly one in five templates of every category is
*held out* and only used for evaluation, so test sentences have phrasings never seen in training.
Everything is driven by a seeded :class:`random.Random`, so the corpus is reproducible.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from voicesafety.models.arch import LABELS

DIS, HAR, SEX, ILL, DAT, PRO = LABELS

# ----------------------------------------------------------------------------- slot fillers
# fmt: off
SLOTS: dict[str, list[str]] = {
    "name": [
        "alex", "sam", "jordan", "max", "lily", "noah", "emma", "leo", "mia", "ethan", "zoe",
        "kai", "ava", "liam", "ruby", "owen", "nina", "jake", "ella", "ryan", "tyler", "chloe",
        "dylan", "maya", "ben", "sophie", "luke", "grace", "adam", "jess",
    ],
    "thing": [
        "sword", "pet", "car", "house", "skin", "hat", "backpack", "dragon", "bike", "jetpack",
        "shield", "bow", "hoverboard", "wings", "pickaxe", "crown", "boat", "tower",
    ],
    "place": [
        "lobby", "spawn", "shop", "castle", "school", "cafe", "beach", "map", "server", "arena",
        "obby", "tycoon", "bank", "roof", "forest", "city", "base", "dungeon", "island",
    ],
    "enemy": [
        "zombies", "boss", "final boss", "dragon", "goblins", "robots", "aliens", "monster",
        "skeletons", "bandits", "the other team", "the red team", "their tank", "the sniper",
    ],
    "game": [
        "adopt me", "the obby", "tower defense", "bedwars", "jailbreak", "murder mystery",
        "this tycoon", "the horror game", "blox fruits", "the racing game", "arsenal", "doors",
    ],
    "num": ["two", "three", "five", "ten", "twenty", "fifty", "a hundred", "a thousand"],
    "time": [
        "tonight", "tomorrow", "after school", "later", "right now", "this weekend", "at nine",
    ],
    "adj_good": [
        "sick", "insane", "awesome", "crazy", "fire", "clean", "nuts", "wild", "amazing", "cool",
    ],
    # insults without swear words (harassment)
    "insult": [
        "idiot", "loser", "moron", "trash", "garbage", "clown", "freak", "stupid", "ugly",
        "worthless", "pathetic", "dumb", "braindead", "failure", "weirdo", "nobody", "fatso",
        "useless", "disgusting", "cringe kid",
    ],
    # swear-word insults (harassment + profanity)
    "pinsult": [
        "bitch", "asshole", "dumbass", "bastard", "dickhead", "piece of shit", "motherfucker",
        "jackass", "dipshit", "prick", "fucking idiot", "fucking loser", "shithead",
    ],
    # profanity not aimed at anyone
    "swear": ["fuck", "shit", "damn", "crap", "hell", "bullshit", "fucking hell", "goddamn"],
    "fucking": ["fucking", "fuckin", "goddamn", "damn", "shitty", "motherfucking"],
    "group": [
        "black people", "white people", "asians", "mexicans", "jews", "muslims", "christians",
        "immigrants", "gay people", "trans people", "girls", "women", "arabs", "indians",
        "disabled people", "autistic people", "chinese people", "africans", "hindus",
        "latinos", "lesbians", "old people", "refugees",
    ],
    "group_adj": [
        "black", "asian", "mexican", "jewish", "muslim", "gay", "trans", "indian", "chinese",
        "arab", "autistic", "disabled", "african", "foreign",
    ],
    "neg_trait": [
        "stupid", "dirty", "animals", "subhuman", "criminals", "disgusting", "inferior",
        "a disease", "parasites", "trash", "worthless", "terrorists", "thieves", "lazy",
    ],
    "slur": ["retard", "retarded", "tranny", "faggot", "spaz", "towelhead", "gypsy", "chink"],
    "country": ["your country", "africa", "mexico", "china", "india", "the desert", "asia"],
    "body": ["body", "boobs", "butt", "chest", "ass", "thighs", "privates"],
    "sexact": [
        "have sex", "hook up", "fuck", "do it", "get naked", "make out in bed", "sleep together",
    ],
    "sexual_thing": [
        "nudes", "naked pics", "pics of your body", "a pic in your underwear", "dirty pics",
        "your nudes", "something sexy",
    ],
    "drug": [
        "weed", "cocaine", "coke", "meth", "molly", "xanax", "pills", "acid", "shrooms",
        "heroin", "edibles", "percs", "a vape", "lean", "crack",
    ],
    "booze": ["beer", "vodka", "alcohol", "shots of tequila", "whiskey", "wine coolers"],
    "weapon": ["a real gun", "a glock", "a pistol", "an ak", "brass knuckles", "a switchblade"],
    "scam": [
        "free robux", "cheap robux", "free admin", "a robux generator", "free limiteds",
        "an exploit menu", "a hacked account", "stolen accounts", "a mod menu",
    ],
    "site": [
        "my website", "the link in my bio", "robux dot free", "this discord", "my telegram",
        "a site i found", "the link i sent you",
    ],
    "partner": ["girlfriend", "boyfriend", "gf", "bf", "wife", "husband", "valentine", "baby"],
    "pet_name": ["babe", "baby", "sweetheart", "honey", "cutie", "darling", "beautiful"],
    "verb_play": [
        "play", "build", "explore", "farm", "race", "grind", "trade", "craft", "fish", "camp",
        "parkour", "decorate", "collect eggs", "do the quest", "speedrun", "practice",
    ],
    "benign_obj": [
        "the new update", "my pet", "this map", "the leaderboard", "the shop", "my house",
        "the quest", "the tutorial", "the event", "the music", "the trading hub", "my avatar",
        "the daily reward", "the lobby", "the checkpoint", "the vip room", "the minigame",
        "the race track", "the treasure chest", "the secret door", "the boss room",
    ],
    "opinion": [
        "is really fun", "looks great", "is so laggy", "is kind of confusing", "is my favourite",
        "is too hard", "is broken again", "got way better", "takes forever", "is so pretty",
        "needs more coins", "is super easy", "has a cool secret", "is worth it",
    ],
    "app": ["snap", "snapchat", "insta", "discord", "tiktok", "whatsapp", "facetime"],
}

# Words that may be obfuscated in text training data (slot names).
OBFUSCATE_SLOTS = {
    "pinsult", "swear", "fucking", "slur", "sexact", "sexual_thing", "drug", "insult"
}


@dataclass(frozen=True)
class Template:
    """A phrasing with slots and the labels it carries."""

    text: str
    labels: frozenset[str]
    category: str
    index: int
    train_only: bool = False  # from the second, training-only set (never held out)


def _t(category: str, labels: tuple[str, ...], texts: list[str]) -> list[tuple[str, str, tuple]]:
    return [(category, t, labels) for t in texts]


_RAW: list[tuple[str, str, tuple]] = []

# ------------------------------------------------------------------------- benign chat
_RAW += _t("benign", (), [
    "nice shot, good game everyone",
    "gg well played",
    "can someone help me get past this level",
    "follow me, the exit is over here",
    "who wants to trade their {thing} for my {thing}",
    "the lag is so bad on this {place} today",
    "wait for me at the {place}",
    "let's go to the next stage together",
    "does anyone know how to get the golden {thing}",
    "i just got a legendary {thing}",
    "brb my mom is calling me for dinner",
    "how many coins do you have",
    "that {thing} looks {adj_good}",
    "i'm stuck behind the wall can you pull me out",
    "can we play {game} after this round",
    "thanks for the help {name}",
    "my internet keeps disconnecting",
    "we need one more player for the team",
    "hold on i'm reading the quest",
    "is anyone else hearing that echo",
    "i have {num} gems left",
    "join my server, we're building a {place}",
    "go left, then jump over the lava",
    "i think the update broke the {thing}",
    "good morning everyone",
    "the new map is really pretty",
    "let's vote for the beach map",
    "what level are you",
    "sorry i was afk",
    "i like your outfit",
    "i'll be the medic this round",
    "can you unmute your mic",
    "this music is so catchy",
    "don't forget to claim the daily reward",
    "that was a close one",
    "my little brother wants to play too",
    "we won the tournament",
    "i need to do my homework after this",
    "who's the leader of this group",
    "can you invite me to the party",
    "i'm saving up for the {thing}",
    "how do you do that trick",
    "let's build a bridge across the river",
    "put the blocks over there",
    "your base is really well designed",
    "okay i'm ready, start the countdown",
    "this puzzle is so hard",
    "happy birthday {name}",
    "i love this game so much",
    "see you tomorrow everyone",
])

# ------------------------------------------------------------ hard negatives (toxic-looking words)
_RAW += _t("hardneg", (), [
    "i'm going to kill the {enemy}",
    "that was {adj_good}, did you see that jump",
    "shoot the {enemy} before they reach the {place}",
    "i'm dead lol, revive me",
    "we destroyed the {enemy} in like ten seconds",
    "headshot! that sniper is so good",
    "this level is killing me",
    "you killed it bro, that was perfect",
    "blow up the {place} with the rockets",
    "attack the {place} from the left side",
    "let's murder this obby speedrun",
    "i'll hit the {enemy} with my {thing}",
    "that boss fight was brutal",
    "my character keeps dying to the {enemy}",
    "we got crushed last round but we'll win this one",
    "pull the weeds in the garden so the crops grow",
    "put the potion in the cooking pot",
    "the assassin class is really strong",
    "pass me the ball, i'm open",
    "i got a high score on the racing game",
    "the doctor gave me medicine for my cold",
    "buy the sword in the shop, it's cheap",
    "trade you my pet for your {thing}",
    "what's the date of the next update",
    "i love you guys, best team ever",
    "my friend is {group_adj} and she's the best builder i know",
    "happy pride month everyone",
    "the black team and the white team are tied",
    "raise the white flag, we surrender",
    "i'm going to bed, good night",
    "my character's body glitched into the wall",
    "the bomb is planted, defuse it",
    "take the shot now, he's low",
    "i'm so sick of losing to the {enemy}",
    "you scared me, i almost screamed",
    "crack the safe to get the gold",
    "the game is stupid hard but fun",
    "that's insane, how did you survive",
    "the knife is the best weapon in {game}",
    "execute the plan, go go go",
    "he's the murderer, vote him out",
    "the potion makes you fly for ten seconds",
    "cocktail party emote is my favourite",
    "he shot me from across the map, what a player",
    "the zombie bit me, i'm infected",
    "i hate this level, too many traps",
    "my dad works as a police officer",
    "i'm learning spanish at school",
    "kiss the frog to finish the fairy tale quest",
    "the wedding map has really nice decorations",
    "the hospital map has a morgue in the basement",
    "i'm hooked on this game",
])

# ------------------------------------------------------------------------- profanity
_RAW += _t("profanity", (PRO,), [
    "oh {swear}, i fell again",
    "this {fucking} game keeps crashing",
    "{swear}, the {enemy} got me",
    "what the {swear} was that",
    "holy shit that was close",
    "i {fucking} hate lag",
    "this map is {fucking} huge",
    "{swear} {swear}, i lost all my coins",
    "oh my god that's {fucking} {adj_good}",
    "shit, i forgot to save",
    "are you fucking kidding me, the server reset",
    "damn it, one more try",
    "that jump is so {fucking} hard",
    "where the {swear} is the exit",
    "fuck yeah we won",
    "this {place} is full of {fucking} traps",
    "my {fucking} controller died",
    "hell yeah, new record",
    "{swear}, my mic is broken",
    "no fucking way, i got the legendary {thing}",
    "ah shit, here we go again",
    "i'm so fucking tired",
    "the {enemy} are fucking everywhere",
    "who the {swear} built this obby",
    "piss off, game, just let me win",
])

# ------------------------------------------------------------------------- harassment
_RAW += _t("harassment", (HAR,), [
    "you're such a {insult}",
    "shut up {name}, nobody likes you",
    "you are a {insult} and everyone knows it",
    "go kill yourself",
    "just quit the game, you're {insult}",
    "nobody wants you here, {insult}",
    "i know where you live {name}",
    "kys you {insult}",
    "you're so {insult} it's embarrassing",
    "get out of our server, you {insult}",
    "everyone hates you, just leave",
    "i'm going to find you and hurt you for real",
    "your mom should have left you at the {place}",
    "you should be ashamed of being this {insult}",
    "stop talking, {insult}, your voice is annoying",
    "i'll report you and get you banned, {insult}",
    "you have no friends because you're a {insult}",
    "i'm gonna leak your address",
    "cry more, you {insult}",
    "you'll never be good at anything, {insult}",
    "drink bleach",
    "ugly {insult}, turn your camera off",
    "imagine being this {insult}, lmao",
    "no one will miss you if you leave",
    "i'll make your life miserable at school tomorrow",
    "you're the most {insult} person i've ever met",
    "hey {name}, you're a {insult}",
    "go die in a hole",
])

# ------------------------------------------------------- harassment with profanity (multi-label)
_RAW += _t("harass_prof", (HAR, PRO), [
    "shut the fuck up, {pinsult}",
    "you're a {pinsult}",
    "fuck you {name}",
    "get the fuck out of here, {pinsult}",
    "nobody asked you, {pinsult}",
    "stfu you {pinsult}",
    "fuck off and die, {pinsult}",
    "you {fucking} {insult}",
    "eat shit, {pinsult}",
    "{name} is a {pinsult}",
    "go fuck yourself",
    "you're such a {fucking} {insult}, quit",
    "what a {pinsult}, kick him",
    "i swear i'll beat the shit out of you",
])

# ------------------------------------------------------------------------- discrimination
_RAW += _t("discrimination", (DIS,), [
    "all {group} are {neg_trait}",
    "no {group} allowed in this server",
    "go back to {country}",
    "i hate {group}",
    "{group} shouldn't be allowed to play",
    "{group} are {neg_trait}, everyone knows that",
    "kick the {group_adj} kid, they ruin everything",
    "girls can't play games, go back to the kitchen",
    "{group} don't belong here",
    "of course the {group_adj} guy is losing",
    "we don't want {group} on our team",
    "{group} are the reason this country is dying",
    "that's so gay, only gay losers play this",
    "this game is for {group_adj} people only",
    "{group} should be banned from everything",
    "stop acting like a {slur}",
    "you sound {group_adj}, get off my team",
    "{group} are not real humans",
    "i won't trade with {group}",
    "typical {group_adj} behaviour, stealing my {thing}",
    "what a {slur}",
    "get rid of all the {group}",
    "i'd never be friends with {group}",
    "you play like a {slur}",
])

# ------------------------------------------------ discrimination + harassment (+ profanity)
_RAW += _t("dis_har", (DIS, HAR), [
    "shut up you {group_adj} {insult}",
    "you're a {slur} and a {insult}",
    "go back to {country}, {insult}",
    "nobody wants a {group_adj} {insult} like you here",
])
_RAW += _t("dis_har_prof", (DIS, HAR, PRO), [
    "fuck you, {group_adj} {pinsult}",
    "shut the fuck up you {slur}",
    "{group} are fucking {neg_trait} and so are you",
])

# ------------------------------------------------------------------------- sexual
_RAW += _t("sexual", (SEX,), [
    "send me {sexual_thing}",
    "wanna {sexact} with me",
    "show me your {body}",
    "take off your clothes",
    "i'm so horny right now",
    "let's {sexact} in my bedroom in game",
    "i want to touch your {body}",
    "you have a sexy {body}",
    "can i see {sexual_thing}",
    "come to the bathroom and get naked",
    "let's roleplay that we {sexact}",
    "i want to lick your {body}",
    "send {sexual_thing} and i'll give you robux",
    "are you a virgin",
    "i'm touching myself",
    "bend over for me",
    "what colour is your underwear",
    "let's do sexual stuff",
    "rate my {body}",
    "i'll pay you to {sexact} with me",
    "your {body} looks hot in that avatar",
    "lay on the bed and i'll get on top of you",
])
_RAW += _t("sex_prof", (SEX, PRO), [
    "i want to fuck you",
    "send fucking {sexual_thing} now",
    "let's fuck in the {place}",
    "show me your {fucking} {body}",
])
_RAW += _t("sex_har", (SEX, HAR), [
    "send {sexual_thing} or i'll tell everyone you're a {insult}",
    "you're an ugly {insult}, nobody would {sexact} with you",
])

# ----------------------------------------------------------------- illegal and regulated
_RAW += _t("illegal", (ILL,), [
    "who wants to buy {drug}",
    "i'm selling {drug}, message me",
    "i smoke {drug} every day",
    "let's get high on {drug} after school",
    "i can get you {drug} for cheap",
    "get {scam} at {site}",
    "go to {site} for {scam}",
    "i'll sell you {weapon}, cash only",
    "my brother sells {drug} at school",
    "let's get drunk on {booze} tonight",
    "i'm twelve and i drink {booze}",
    "bet real money on the game at {site}",
    "join my casino, double your cash",
    "i'll ddos your internet",
    "i stole my mom's credit card to buy robux",
    "give me your password and i'll give you {scam}",
    "i have {drug} in my backpack",
    "wanna try {drug}, it's fun",
    "i'm buying {weapon} from a guy online",
    "vaping is so fun, i do it in class",
    "use this exploit to steal other people's items",
    "i can hack anyone's account, pay me",
    "smoke {drug} with me {time}",
    "i sell fake ids, dm me",
    "i'm so high on {drug} right now",
    "i can get you {booze}, you don't need to be twenty one",
])
_RAW += _t("ill_prof", (ILL, PRO), [
    "i'm so fucking high on {drug}",
    "buy some {drug}, it's good shit",
    "let's get fucking wasted on {booze}",
])

# ------------------------------------------------------------------ dating and romantic
_RAW += _t("dating", (DAT,), [
    "will you be my {partner}",
    "do you have a {partner}",
    "i love you {pet_name}",
    "wanna go on a date with me",
    "are you single",
    "you're so cute, wanna date",
    "add me on {app}, let's be more than friends",
    "kiss me {pet_name}",
    "i have a crush on you",
    "let's get married in game, {pet_name}",
    "be my online {partner}",
    "i want to hold your hand {pet_name}",
    "how old are you, wanna be my {partner}",
    "let's date, i'll give you my {thing}",
    "i miss you so much {pet_name}",
    "i think i'm falling in love with you",
    "give me a kiss on the cheek",
    "meet me in real life {time}, just us two",
    "you're my {partner} now",
    "let's cuddle in the {place}",
    "looking for a {partner}, anyone",
    "text me on {app}, {pet_name}",
])
_RAW += _t("dat_sex", (DAT, SEX), [
    "be my {partner} and send me {sexual_thing}",
    "i love you {pet_name}, let's {sexact}",
])
_RAW += _t("dat_prof", (DAT, PRO), [
    "be my fucking {partner} already",
    "damn you're cute, be my {partner}",
])


# ---------------------------------------------------------------- extra phrasing variety
_RAW += _t("benign", (), [
    "{benign_obj} {opinion}",
    "does anyone want to {verb_play} with me",
    "i think {benign_obj} {opinion}",
    "let's {verb_play} at the {place} {time}",
    "{name}, {benign_obj} {opinion}",
    "i'm going to {verb_play} for a bit",
    "have you seen {benign_obj} yet",
    "we should {verb_play} together {time}",
    "where do i find {benign_obj}",
    "can you show me {benign_obj}",
    "i want to {verb_play} but my tablet is slow",
    "wait, who moved {benign_obj}",
    "honestly {benign_obj} {opinion}",
    "ok everyone go to {benign_obj}",
    "i'll miss the event, i have school",
    "my sister said {benign_obj} {opinion}",
    "do you guys know when {benign_obj} comes back",
    "i got {num} coins from {benign_obj}",
    "we need to protect {benign_obj}",
    "first one to {benign_obj} wins",
    "i just reached level {num}",
    "how do i change my avatar colour",
    "the graphics on {benign_obj} are amazing",
    "who's hosting the next round",
    "i have to leave in {num} minutes",
    "lol that was funny",
    "nice build, {name}",
    "can you carry me through the dungeon",
    "i'm new, how do i play",
    "that's so cool, how did you get it",
])
_RAW += _t("hardneg", (), [
    "i'm going to destroy you in the next round, get ready haha",
    "the {enemy} are killing us, fall back",
    "i killed {num} {enemy} with one shot",
    "we need to kill the {enemy} to open the gate",
    "that trick was {adj_good}, teach me",
    "i'm dying of laughter",
    "kill the lights in the haunted house",
    "he's the killer this round, run",
    "my mom makes the best pot roast",
    "the chemistry teacher blew up a balloon",
    "the hunter shoots arrows at the {enemy}",
    "the trap door kills you if you step on it",
    "i miss the old map, it was better",
    "i'll miss you guys when the server closes",
    "we're married to this strategy now",
    "my heart is beating so fast, that was scary",
    "date night event starts {time} in the cafe",
    "i love the color of your {thing}",
    "grab the first aid kit, you're bleeding",
    "the guns in {game} are too strong",
    "the drug store in the city map sells potions",
    "the bar in the western map only sells milk",
    "they gamble with fake coins in the minigame",
    "he stole my kill, not fair lol",
    "hit him with the hammer, he's almost dead",
    "i got sniped from the roof",
    "our team got wrecked, rematch",
    "the shooting range is behind the {place}",
])
_RAW += _t("harassment", (HAR,), [
    "you're a waste of space",
    "nobody cares about you, {insult}",
    "you're too {insult} to be on our team",
    "leave the game and never come back, {insult}",
    "i will spam you until you quit",
    "you're so {insult} your parents hate you",
    "everyone laugh at {name}, what a {insult}",
    "i'll hack your account and delete everything",
    "you deserve to be bullied",
    "hey {insult}, why are you even alive",
    "i'll beat you up after school",
    "you smell, that's why no one plays with you",
])
_RAW += _t("profanity", (PRO,), [
    "well shit, that didn't work",
    "oh fuck, the {enemy} are back",
    "fuckin hell this {place} is big",
    "this {thing} is so {fucking} cool",
    "damn, that was {adj_good}",
    "crap, my {thing} broke",
    "shit shit shit run",
    "that's some bullshit, the timer was wrong",
])
_RAW += _t("discrimination", (DIS,), [
    "i don't play with {group}, they're {neg_trait}",
    "{group_adj} players are always {neg_trait}",
    "ban all {group} from the game",
    "{group} ruin every server they join",
    "you can tell he's {group_adj}, he's so {neg_trait}",
    "{group} are the worst people on earth",
    "only {group_adj} people are this {neg_trait}",
    "that's such a {slur} thing to do",
])
_RAW += _t("sexual", (SEX,), [
    "take a pic of your {body} for me",
    "i want to see you naked",
    "let's have sex in the bathroom",
    "do you want to see my privates",
    "strip for me and i'll give you {num} robux",
    "tell me what you're wearing right now",
    "i'll show you mine if you show me yours",
    "your {body} makes me horny",
])
_RAW += _t("illegal", (ILL,), [
    "who has {drug}, i'll pay",
    "i got {drug} from my cousin",
    "want some {drug}, it's cheap",
    "i bring {booze} to school in my bottle",
    "dm me for {scam}",
    "i'm selling {scam}, paypal only",
    "let's smoke behind the school",
    "my dealer has {drug} for {num} bucks",
])
_RAW += _t("dating", (DAT,), [
    "you're really pretty, are you taken",
    "can i be your {partner}",
    "i like you more than a friend",
    "go out with me, {pet_name}",
    "send me a selfie {pet_name}, you're cute",
    "i'll be your {partner} if you give me robux",
    "do you want to be my {partner} in real life",
    "love you so much {pet_name}, kiss kiss",
])

# ---------------------------------------------------------- training-only templates
# A second set of templates, written for the issue-6 retrain by a second writer who was shown
# only three fifths of the templates above (index % 5 in {0, 2, 4}: none of the held-out test
# templates, none of the dev templates index % 5 == 1 used to choose the recipe) and asked for
# new phrasings and contexts. Five of its phrasings that happened to equal a template above
# (one of them held out) were dropped. They are never held out (`train_only`), so the held-out
# test split (its templates and, with the same seeds, its messages) is the same as before.
_RAW_TRAIN_ONLY: list[tuple[str, str, tuple]] = []

_RAW_TRAIN_ONLY += _t("benign", (), [
    "anyone know where the hidden key is on this map",
    "wait for me, i'm still at the {place}",
    "gg, that was fun, rematch?",
    "how do you unlock the {thing}",
    "ok",
    "lol nice",
    "my dog just walked on my keyboard, sorry",
    "does anyone want to be on my team for {game}",
    "if we all stand on the button at once the door opens",
    "i finally finished my homework so i can {verb_play} now",
    "can you stop moving for a second, i want to take a screenshot",
    "{name} said the event starts at five",
    "who made this map, it's really creative",
    "my wifi keeps cutting out, sorry if i disconnect",
    "i'm new, how do i open the inventory",
    "press e to pick things up",
    "back, what did i miss",
    "i'm going to try the obstacle course one more time",
    "when i was your age this game didn't even have pets lol",
    "my grandma is learning to play, be nice to her okay",
    "does anyone have a spare {thing}, i lost mine",
    "which {thing} should i get, the blue one or the red one",
    "thank you for the gift, that was really kind",
    "can everyone vote for the snow map please",
    "i spent all day decorating my {place} and it finally looks right",
    "yay we did it",
    "follow me, i know a shortcut through the {place}",
    "my parents said i can play until eight tonight",
    "is {game} better than {game} in your opinion",
    "i'm stuck on the part with the moving platforms, any tips?",
    "wow your {thing} is so shiny",
    "let me know when you're ready and we'll start",
    "so after school i'm going to {verb_play} with {name} and then we're all doing the quest"
    " together if the server isn't full",
    "whoever finds the golden egg first gets to pick the next map",
    "i accidentally sold my {thing}, oops",
    "nice build",
    "can you turn your music down a bit, i can't hear the game",
    "my mic isn't working so i'll just type",
    "did you see the fireworks over the {place}",
    "i can't believe we made it to the top, that took forever",
    "have you tried {benign_obj} yet? it {opinion}",
    "if you get lost just type where are you and i'll come find you",
    "the tutorial explains how to craft, it's in the top menu",
    "we need {num} more pieces of wood for the roof",
])
_RAW_TRAIN_ONLY += _t("hardneg", (), [
    "kill me if i turn into a zombie, i don't want to infect the team",
    "we need to shoot down the {enemy} before it lands",
    "i died {num} times on the lava jump, this obby is tough",
    "destroy their bed first so they can't respawn",
    "attack when the {enemy} is stunned, that's the only way",
    "the sniper rifle in the game shop is way overpowered",
    "that play was filthy, how did you even do that",
    "your parkour is actually sick",
    "that clutch was insane bro",
    "you're a beast at this game, teach me",
    "selling my {thing} for {num} coins at the trading plaza",
    "the shop has a sale, everything is cheap today",
    "the developers gave everyone a free hat for the anniversary event",
    "is anyone buying dragon eggs, i have extras",
    "i'd pay {num} gems for that pet, it's so cute",
    "bet you ten coins i reach the finish line first",
    "loser of the race has to wear the silly hat for one round",
    "i'm getting so high up on the tower, don't look down",
    "mix the blue herb and the red mushroom to brew a speed potion",
    "my dad is making pancakes, brb",
    "the saloon in the western map only serves lemonade lol",
    "the pharmacist npc gives you a health potion if you finish the quest",
    "the chef in the cooking game burned the pizza again",
    "what date does the halloween event start",
    "i have a dentist appointment on friday so i can't play",
    "mark the tournament on your calendar, it's on the fifteenth",
    "i love this game so much, best update ever",
    "i love my puppy, she's sleeping right next to me",
    "my cat keeps sitting on my tablet while i play",
    "my brother and my sister are both on this server",
    "my mom says hi to everyone",
    "happy eid to everyone celebrating",
    "we're having a diwali party at my house tonight",
    "my grandma lives in mexico and makes the best tamales",
    "the chinese new year event has lanterns everywhere",
    "shabbat shalom, i'll be back tomorrow",
    "my best friend is muslim and she's teaching me some arabic",
    "merry christmas and happy hanukkah everyone",
    "getting the black belt in the karate minigame is so hard",
    "we're learning about africa in geography class, it's really interesting",
    "i hurt my hand playing basketball so i'm typing slow",
    "open the chest in the dungeon, there's a golden sword inside",
    "i fell off my bike and scraped my knee, ouch",
    "don't touch the lava, touch the checkpoint first",
    "touch the flag to capture it for our team",
    "i'm so tired, going to sleep, good night everyone",
    "my bed in the house has a dragon blanket, it looks so cozy",
    "my parents are going on a date tonight so my aunt is babysitting",
    "the police caught me in jailbreak but i escaped from the cell",
    "the casino in the city map only uses fake game chips",
    "never give anyone your password, even if they promise you robux",
    "beware of free robux links, they're all scams, report them",
    "it's so hot today, i'm sitting in front of the fan",
    "the pride event had rainbow flags all over the {place}",
    "the white team wins if they hold the hill for two minutes",
    "oops i'm such a noob, i fell off again lol",
    "the baby chicks on the farm map are adorable",
    "the dam in the river map broke and flooded the whole village",
    "i'll report the bug to the developers so they can fix it",
    "we have to kill time until the server restarts, wanna race?",
])
_RAW_TRAIN_ONLY += _t("profanity", (PRO,), [
    "what the fuck just happened",
    "shit shit shit, the floor is falling",
    "{fucking} lag again",
    "this {game} update is {fucking} broken",
    "damn it, one more second and i would've had it",
    "i spent {num} coins on this {thing} and it's shit",
    "holy fuck, did you see that jump",
    "why the hell does my {thing} keep disappearing",
    "{swear}",
    "my {fucking} tablet died right before the boss",
    "if this {place} glitches one more time i swear i'm gonna lose my shit",
    "bro that's {fucking} {adj_good}",
    "goddamn these {enemy} hit hard",
    "fuck this level",
    "i'm so fucking tired of losing to the {enemy}",
    "the controls on mobile are total shit",
    "oh crap oh crap, run",
    "well fuck, there goes my win streak",
    "that was a shitload of coins, we're rich",
    "so my little brother unplugged the router right in the middle of the final round and i"
    " lost everything, {fucking} great",
])
_RAW_TRAIN_ONLY += _t("harassment", (HAR,), [
    "nobody invited you, go away",
    "why are you so bad, my little sister plays better than you",
    "{name} is the worst player on this server, don't pick him",
    "if you join our team again i'll kick you every single round",
    "uninstall",
    "you're so ugly even your avatar looks sad",
    "lol look at {name} crying again",
    "i'll find you after school and you'll regret it",
    "you should just disappear, nobody would notice",
    "cry more, {insult}",
    "everyone block {name}, she's a {insult}",
    "i know where you live, be careful",
    "say one more word and i'll make sure you get banned",
    "you're the reason we lost, {insult}",
    "no one will ever want to be your friend",
    "ha ha you fell, {insult}",
    "you play like a {insult}, just leave the game",
    "i'm going to tell the whole class what you said and you'll have no friends left",
    "imagine having zero friends and spending all day in {game}, couldn't be me, you {insult}",
    "if i were you i'd be too embarrassed to even log in",
    "you're fat and slow, just like your avatar",
    "nice try {insult}, maybe next year",
    "we made a new server without you because you're so annoying",
    "hey everyone, {name} still sleeps with a nightlight, what a baby",
    "you deserve to get hurt",
])
_RAW_TRAIN_ONLY += _t("harass_prof", (HAR, PRO), [
    "get the fuck off my server, {pinsult}",
    "you're a useless {pinsult}",
    "fuck off {name}, nobody likes you",
    "why are you so {fucking} bad, {pinsult}",
    "{name} you {fucking} {insult}, you cost us the round",
    "eat shit, {insult}",
    "who the hell invited this {pinsult}",
    "your building is shit and so are you",
    "quit the game already, you {fucking} {insult}",
    "touch my {thing} again and i'll make you pay, {pinsult}",
])
_RAW_TRAIN_ONLY += _t("discrimination", (DIS,), [
    "{group} can't even play this game right",
    "i hope they ban {group} from the server",
    "why do they even let {group} into {game}",
    "my dad says {group} are {neg_trait} and he's right",
    "no {group_adj} kids allowed in my club",
    "{group} should stay in {country} where they belong",
    "the team would be way better without {group}",
    "{group_adj} people smell, that's just a fact",
    "girls are too dumb for strategy games",
    "only boys should be admins, girls just cry",
    "if you're {group_adj} you can't join our clan, sorry not sorry",
    "i bet the {group_adj} kid stole the {thing}",
    "{group} ruin everything they touch",
    "that kid on the other team plays like a {slur}",
    "he runs like a {slur} lol",
    "people from {country} are all {neg_trait}",
    "nobody wants {group} in this country",
    "{group_adj} people shouldn't be allowed to vote in the game polls",
    "everyone knows {group} are {neg_trait}, that's why they always lose",
    "disabled people shouldn't play online, they slow everyone down",
    "i left that server because it was full of {group}",
    "it's a {group_adj} thing to cheat, they all do it",
    "my clan has one rule, no {group}",
    "gay people are gross, keep them out of the wedding map",
    "why would anyone be friends with {group}, they're {neg_trait}",
])
_RAW_TRAIN_ONLY += _t("dis_har", (DIS, HAR), [
    "nobody wants a {group_adj} {insult} like you on the team",
    "you're {group_adj}, so of course you're {neg_trait}",
    "you {slur}, get off our server",
    "you only lost because you're a girl, go cry",
    "your whole family is {neg_trait} like all {group}, and so are you",
])
_RAW_TRAIN_ONLY += _t("dis_har_prof", (DIS, HAR, PRO), [
    "shut the fuck up, you {slur}",
    "go back to {country}, you {fucking} {insult}",
    "nobody wants your {group_adj} ass here, {pinsult}",
    "you're {group_adj} so your opinion is shit",
])
_RAW_TRAIN_ONLY += _t("sexual", (SEX,), [
    "can you send me {sexual_thing} in private",
    "what color is your underwear",
    "i want to see your {body}, turn on your camera",
    "come to my house in game and let's {sexact}",
    "do you want to {sexact} with me",
    "i'll give you my best {thing} for {sexual_thing}",
    "take off your clothes on camera",
    "i'm sending you {sexual_thing}, tell me if you like them",
    "lie down on the bed and let's pretend to {sexact}",
    "your avatar's {body} is so sexy",
    "i keep thinking about your {body}",
    "rate my {body} from one to ten",
    "let's play a game where we take off one piece of clothing every round",
    "are you wearing anything under that",
    "moan into the mic for me",
    "if you show me your {body} i'll show you mine",
    "let's roleplay something dirty in the bedroom",
    "delete the chat after you send {sexual_thing}",
    "have you ever done anything sexual, you can tell me",
])
_RAW_TRAIN_ONLY += _t("sex_prof", (SEX, PRO), [
    "damn your {body} is so fucking hot",
    "send me {sexual_thing} right fucking now",
    "let's fuck, nobody will know",
    "holy shit i'm so horny",
])
_RAW_TRAIN_ONLY += _t("sex_har", (SEX, HAR), [
    "show me your {body} or i'll get you banned",
    "you're a {insult}, the only thing you're good for is sending {sexual_thing}",
    "if you don't {sexact} with me i'll tell everyone your secret",
    "nobody will ever like you unless you send {sexual_thing}, {insult}",
])
_RAW_TRAIN_ONLY += _t("illegal", (ILL,), [
    "anyone know where to get {drug} near the mall",
    "my brother sells {drug}, dm me if you want some",
    "i'll trade you {num} robux for your account password",
    "selling stacked accounts, pay me with paypal",
    "buy {scam} for five dollars on {site}",
    "log in at {site} to claim {scam}",
    "i took {drug} before school today and it was crazy",
    "we got {booze} from the store with a fake id",
    "my uncle sold me {weapon}, it's in my backpack",
    "who wants to bet real money on the next round, send it through cashapp",
    "i'll pay you twenty dollars on venmo for your limited {thing}",
    "download this script, you can dupe items and steal stuff from other players",
    "how do i buy {booze} if i'm thirteen",
    "my parents are gone, let's drink {booze} and play all night",
    "try my vape, it tastes like candy",
    "i know a guy who sells {weapon} with no background check",
    "want {scam}? just give me your login and the code from your email",
    "selling my account, {num} dollars, gift cards only",
    "take some of your mom's pills, it makes the game feel trippy",
    "use {site} to bet on the match with real money",
    "i got caught stealing {booze} from the store lol",
    "i'm dealing {drug} at school, it pays way more than chores",
    "want to make easy money? sell {drug} for me",
    "send me your parent's card number and i'll get you {scam}",
    "i'll hack anyone's account for {num} robux",
])
_RAW_TRAIN_ONLY += _t("ill_prof", (ILL, PRO), [
    "this {drug} is some good shit",
    "who the fuck has {booze}, i'm trying to get drunk",
    "buy {scam} from {site}, no bullshit",
    "i'm fucking selling {weapon}, hit me up",
])
_RAW_TRAIN_ONLY += _t("dating", (DAT,), [
    "i've had a crush on you since the first round",
    "will you be my {partner} in real life too",
    "add me on {app}, i want to get to know you better {pet_name}",
    "anyone want to online date? i'm fourteen",
    "you're the cutest person on this server, let's go on a date",
    "good night {pet_name}, dream of me",
    "i'll give you my {thing} if you go out with me",
    "my {partner} left me, anyone want to be my new one",
    "let's sit on the bench and hold hands, {pet_name}",
    "i think {name} likes me, should i ask her out",
    "is anyone looking for a {partner}, i'm available",
    "we should get married, we'd be the cutest couple",
    "text me on {app} tonight, i miss you",
    "you're mine now {pet_name}, no one else can have you",
    "do you want to be more than friends",
    "i dream about you every night, i love you",
    "can i have your number, i really like you",
    "let's keep our relationship secret so our parents don't find out",
    "i'm looking for a {partner} who plays {game}, dm me",
])
_RAW_TRAIN_ONLY += _t("dat_sex", (DAT, SEX), [
    "you're my {partner} now so show me your {body}",
    "add me on {app}, {pet_name}, and send {sexual_thing}",
    "real couples send each other {sexual_thing}",
])
_RAW_TRAIN_ONLY += _t("dat_prof", (DAT, PRO), [
    "i fucking love you {pet_name}",
    "holy shit i have a crush on you, go out with me",
    "add me on {app} {pet_name}, this game chat is shit",
])

# fmt: on

# ------------------------------------------------------------------------- build templates


def _build_templates() -> list[Template]:
    out: list[Template] = []
    for raw, train_only in ((_RAW, False), (_RAW_TRAIN_ONLY, True)):
        per_cat: dict[str, int] = {}
        for category, text, labels in raw:
            i = per_cat.get(category, 0)
            per_cat[category] = i + 1
            out.append(Template(text, frozenset(labels), category, i, train_only))
    return out


TEMPLATES: list[Template] = _build_templates()


def template_split(t: Template, dev: bool = False) -> str:
    """Deterministic split of a template: ``"test"`` for every fifth template of each category
    of the first set (index % 5 == 3), else ``"train"``; the training-only set is always
    ``"train"``. With ``dev`` (recipe selection, ``train_mini --text-dev``) the templates with
    index % 5 == 1 become ``"dev"`` and leave training too."""
    if t.train_only:
        return "train"
    if t.index % 5 == 3:
        return "test"
    return "dev" if dev and t.index % 5 == 1 else "train"


def is_heldout(t: Template) -> bool:
    """Whether a template belongs to the held-out test split (see :func:`template_split`)."""
    return template_split(t) == "test"


# ------------------------------------------------------------------------- decoration

PREFIXES = ["", "", "", "", "bro ", "dude ", "lol ", "omg ", "yo ", "ok ", "ngl ", "hey ", "um "]
SUFFIXES = ["", "", "", "", " lol", " lmao", " bro", " fr", " haha", " xd", " ok", " rn", "!"]

_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
_ASTERISK_VOWELS = "aeiou"


def obfuscate(word: str, rng: random.Random) -> str:
    """Apply one random obfuscation to a word (masking, leet, repetition, spacing, dropping)."""
    if len(word) < 3:
        return word
    kind = rng.randrange(7)
    if kind == 0:  # f*ck, b*tch
        idx = [i for i, c in enumerate(word) if c in _ASTERISK_VOWELS]
        if idx:
            i = rng.choice(idx)
            return word[:i] + rng.choice("*#@!") + word[i + 1 :]
    if kind == 1:  # b1tch, 5h1t
        return "".join(_LEET.get(c, c) if rng.random() < 0.6 else c for c in word)
    if kind == 2:  # fuuuck
        idx = [i for i, c in enumerate(word) if c.isalpha()]
        i = rng.choice(idx)
        return word[:i] + word[i] * rng.randint(2, 5) + word[i + 1 :]
    if kind == 3 and " " not in word:  # f u c k
        return rng.choice([" ", ".", "-"]).join(word)
    if kind == 4:  # fck, btch
        out = word[0] + "".join(
            c for c in word[1:] if c not in _ASTERISK_VOWELS or rng.random() < 0.3
        )
        return out if len(out) >= 2 else word
    if kind == 5:  # f**k
        if len(word) >= 4:
            return word[0] + "*" * (len(word) - 2) + word[-1]
    if kind == 6:  # FUCK
        return word.upper()
    return word


def typo(text: str, rng: random.Random) -> str:
    """Introduce one random character-level typo (swap, drop or duplicate)."""
    if len(text) < 4:
        return text
    i = rng.randrange(1, len(text) - 2)
    op = rng.randrange(3)
    if op == 0:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if op == 1:
        return text[:i] + text[i + 1 :]
    return text[:i] + text[i] + text[i:]


_SLOT_RE = re.compile(r"\{(\w+)\}")


def fill(template: str, rng: random.Random, obf_prob: float) -> str:
    """Fill the slots of ``template``; obfuscate trigger slots with probability ``obf_prob``."""

    def sub(m: re.Match[str]) -> str:
        slot = m.group(1)
        value = rng.choice(SLOTS[slot])
        if slot in OBFUSCATE_SLOTS and rng.random() < obf_prob:
            words = value.split(" ")
            j = rng.randrange(len(words))
            words[j] = obfuscate(words[j], rng)
            value = " ".join(words)
        return value

    return _SLOT_RE.sub(sub, template)


_TRIGGERS = ("fuck", "shit", "bitch", "damn", "ass", "sex", "nudes", "horny", "retard", "weed")


def _obfuscate_literals(text: str, rng: random.Random) -> str:
    """Obfuscate trigger words written literally in templates (not via slots)."""
    words = text.split(" ")
    for i, w in enumerate(words):
        if any(t in w for t in _TRIGGERS) and rng.random() < 0.5:
            words[i] = obfuscate(w, rng)
    return " ".join(words)


@dataclass
class Example:
    """One generated message."""

    text: str
    labels: list[int]
    category: str
    heldout: bool


def _labels_vec(labels: frozenset[str]) -> list[int]:
    return [int(lab in labels) for lab in LABELS]


def generate(
    n: int,
    seed: int,
    heldout: bool,
    obf_prob: float = 0.25,
    typo_prob: float = 0.1,
    concat_prob: float = 0.2,
    spoken: bool = False,
    dev: bool = False,
) -> list[Example]:
    """Generate ``n`` messages from the train or held-out templates.

    Args:
        n: number of messages.
        seed: random seed.
        heldout: draw from held-out templates (evaluation) instead of training templates.
        obf_prob: probability of obfuscating each trigger slot (text only).
        typo_prob: probability of a random typo.
        concat_prob: probability of concatenating a second message (long / multi-label).
        spoken: produce clean text suitable for TTS (no obfuscation, typos or chat slang).
        dev: recipe-selection split: training leaves out the dev templates as well, and
            ``heldout`` draws from the dev templates instead of the test ones.

    Returns:
        A list of :class:`Example`.
    """
    rng = random.Random(seed)
    want = ("dev" if dev else "test") if heldout else "train"
    pool = [t for t in TEMPLATES if template_split(t, dev) == want]
    by_cat: dict[str, list[Template]] = {}
    for t in pool:
        by_cat.setdefault(t.category, []).append(t)
    # category sampling weights: ~45% clean (benign + hard negatives), rest spread over labels
    weights = {
        "benign": 0.22, "hardneg": 0.23, "profanity": 0.09, "harassment": 0.09,
        "harass_prof": 0.05, "discrimination": 0.08, "dis_har": 0.02, "dis_har_prof": 0.015,
        "sexual": 0.06, "sex_prof": 0.015, "sex_har": 0.01, "illegal": 0.07, "ill_prof": 0.01,
        "dating": 0.07, "dat_sex": 0.01, "dat_prof": 0.01,
    }  # fmt: skip
    cats = [c for c in weights if c in by_cat]
    cw = [weights[c] for c in cats]
    if spoken:
        obf_prob, typo_prob = 0.0, 0.0
    out: list[Example] = []
    for _ in range(n):
        cat = rng.choices(cats, cw)[0]
        t = rng.choice(by_cat[cat])
        text = fill(t.text, rng, obf_prob)
        labels = set(t.labels)
        if rng.random() < concat_prob:
            cat2 = (
                rng.choices(cats, cw)[0]
                if rng.random() < 0.5
                else rng.choice(["benign", "hardneg"])
            )
            t2 = rng.choice(by_cat[cat2])
            text2 = fill(t2.text, rng, obf_prob)
            labels |= t2.labels
            text = f"{text}, {text2}" if rng.random() < 0.5 else f"{text2}. {text}"
        if not spoken:
            if rng.random() < obf_prob:
                text = _obfuscate_literals(text, rng)
            text = rng.choice(PREFIXES) + text + rng.choice(SUFFIXES)
            if rng.random() < typo_prob:
                text = typo(text, rng)
            r = rng.random()
            if r < 0.1:
                text = text.upper()
            elif r < 0.3:
                text = text.capitalize()
        out.append(Example(text, _labels_vec(frozenset(labels)), cat, heldout))
    return out


# ------------------------------------------------------------------ benign vocabulary noise

_BLOCK = (
    "fuck", "shit", "bitch", "damn", "ass", "sex", "porn", "nude", "naked", "horny", "dick",
    "cock", "pussy", "cum", "rape", "kill", "die", "dead", "death", "murder", "suicide", "gun",
    "drug", "weed", "cocaine", "meth", "drunk", "beer", "vodka", "alcohol", "wine", "drink",
    "gay", "lesbian", "trans", "black", "white", "jew", "muslim", "islam", "christian", "arab",
    "asian", "mexic", "africa", "chin", "india", "hate", "stupid", "idiot", "ugly", "fat",
    "love", "date", "dating", "kiss", "girlfriend", "boyfriend", "wife", "husband", "marry",
    "married", "single", "cute", "sexy", "hot", "baby", "babe", "bet", "casino", "gambl",
    "hack", "steal", "stole", "crack", "high", "smoke", "vape", "pill", "crap", "hell", "piss",
    "bastard", "slut", "whore", "retard", "nazi", "terror", "bomb", "shoot", "weapon", "body",
    "breast", "butt", "touch", "bed", "virgin", "strip", "crush", "god", "jesus", "religio",
    "race", "racis", "immigra", "refugee", "women", "girl", "boy", "women", "men", "old",
)  # fmt: skip


def benign_vocabulary(n_words: int = 6000) -> list[str]:
    """Frequent English words (``wordfreq``) without any word that could carry a label.

    Falls back to the words of the benign templates when ``wordfreq`` is not installed.
    """
    try:
        from wordfreq import top_n_list

        words = top_n_list("en", n_words)
    except ImportError:  # pragma: no cover - optional training dependency
        words = sorted({w for t in TEMPLATES if t.category == "benign" for w in t.text.split()})
    return [w for w in words if w.isalpha() and len(w) > 1 and not any(b in w for b in _BLOCK)]


_CLEAR_SWEARS = ["fuck", "fucking", "shit", "bullshit", "motherfucker", "fuckin", "shitty"]


def vocabulary_noise(
    n: int, seed: int, obf_prob: float = 0.25, dev: bool = False
) -> list[Example]:
    """Text-only regularisation data built from benign frequent words.

    Three kinds, all from training templates and ``wordfreq`` vocabulary: (1) benign training
    sentences with one to three words replaced by random frequent words (label: clean), (2) short
    word salads (clean), (3) word salads with an unambiguous swear word inserted (Profanity).
    They teach the text model that unfamiliar words are not evidence of toxicity. ``dev``: leave
    the dev templates out too (see :func:`generate`).
    """
    rng = random.Random(seed)
    vocab = benign_vocabulary()
    benign = [
        t
        for t in TEMPLATES
        if t.category in ("benign", "hardneg") and template_split(t, dev) == "train"
    ]
    out: list[Example] = []
    for _ in range(n):
        r = rng.random()
        labels = frozenset()
        if r < 0.5:
            words = fill(rng.choice(benign).text, rng, 0.0).split(" ")
            for _ in range(rng.randint(1, 3)):
                words[rng.randrange(len(words))] = rng.choice(vocab)
            text = " ".join(words)
        else:
            words = [rng.choice(vocab) for _ in range(rng.randint(2, 14))]
            if r > 0.85:
                sw = rng.choice(_CLEAR_SWEARS)
                words.insert(
                    rng.randrange(len(words) + 1),
                    obfuscate(sw, rng) if rng.random() < obf_prob else sw,
                )
                labels = frozenset({PRO})
            text = " ".join(words)
        text = rng.choice(PREFIXES) + text + rng.choice(SUFFIXES)
        out.append(Example(text, _labels_vec(labels), "vocab_noise", False))
    return out


def word_augment(text: str, rng: random.Random, vocab: list[str], drop: bool = True) -> str:
    """Label-preserving(-ish) word-level augmentation applied on the fly to training texts.

    One of: insert one or two random benign frequent words, swap two neighbouring words, or
    (when ``drop``) delete one word of a message with at least five words. It perturbs the exact
    template frames so that the model cannot rely on them alone.
    """
    words = text.split(" ")
    op = rng.randrange(3 if drop else 2)
    if op == 0 and vocab:
        for _ in range(rng.randint(1, 2)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(vocab))
    elif op == 1 and len(words) >= 3:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    elif op == 2 and len(words) >= 5:
        del words[rng.randrange(len(words))]
    return " ".join(words)
