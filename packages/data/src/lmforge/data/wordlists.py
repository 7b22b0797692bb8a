"""Word lists and hand-written cases for building classifier training data offline.

The lists are short and deliberately generic (profanity, personal insults, explicit-content terms);
they seed weak labels, and the trained fastText models generalize from the contexts they appear in.
The ``EVAL_*`` cases are never used for training: they are the hand-labelled held-out check.
"""

INSULTS = [
    "idiot",
    "moron",
    "stupid",
    "dumb",
    "loser",
    "pathetic",
    "worthless",
    "scum",
    "trash",
    "jerk",
    "imbecile",
    "clown",
    "garbage",
    "disgusting",
    "bastard",
    "asshole",
    "bitch",
    "dickhead",
    "dipshit",
    "retard",
    "piece of shit",
    "waste of space",
    "halfwit",
    "cretin",
    "degenerate",
    "lowlife",
]
PROFANITY = ["fuck", "fucking", "shit", "damn", "crap", "piss off", "screw you", "wtf", "bullshit", "goddamn"]
THREATS = [
    "I will hurt you",
    "go die",
    "kill yourself",
    "you deserve to suffer",
    "I hope you get hit by a bus",
    "nobody wants you here",
    "get lost forever",
    "I will find you",
]
NSFW_TERMS = [
    "porn",
    "porno",
    "xxx",
    "nude",
    "nudes",
    "naked",
    "sex",
    "sexy",
    "hardcore",
    "erotic",
    "escort",
    "horny",
    "milf",
    "camgirl",
    "webcam girls",
    "adult videos",
    "explicit",
    "stripper",
    "fetish",
    "orgasm",
    "hot singles",
    "nsfw",
    "boobs",
    "pussy",
    "cock",
    "blowjob",
    "anal",
    "threesome",
    "onlyfans",
    "sexting",
]

# Polite sentences addressed to "you", so "you" alone does not read as an insult.
POLITE_TEMPLATES = [
    "thank you for the {thing}, you were a great help",
    "you did a {adj} job with the {thing}",
    "could you help me with the {thing} on {day}?",
    "thanks so much for your reply, the {thing} works {adv} now",
    "you are right about the {thing}, I will fix it",
    "I really appreciate your advice about the {thing}",
    "hope you have a {adj} time at the {place}",
]
NEUTRAL_TEMPLATES = [
    "I went to the {place} with my {person} on {day} and we had a {adj} time.",
    "The {thing} in the {place} was {adj}, so we stayed until evening.",
    "Could you send me the report about the {thing} before {day}?",
    "My {person} recommended a {adj} book about the history of the {thing}.",
    "Thanks for your help with the {thing}, it works {adv} now.",
    "The meeting about the {thing} moved to {day} at the {place}.",
    "We planted tomatoes near the {place} and they grew {adv} this year.",
    "Please remember to bring the {thing} when you visit the {place}.",
    "I disagree with your point about the {thing}, but I see why you think so.",
    "The {person} explained how the {thing} works in a {adj} way.",
]
SLOTS = {
    "place": [
        "park",
        "library",
        "museum",
        "office",
        "beach",
        "station",
        "market",
        "garden",
        "school",
        "lake",
    ],
    "person": ["sister", "friend", "colleague", "neighbour", "teacher", "uncle", "manager", "cousin"],
    "day": ["Monday", "Tuesday", "Friday", "Sunday", "the weekend", "next week"],
    "adj": ["wonderful", "quiet", "busy", "pleasant", "long", "interesting", "simple", "clear"],
    "thing": ["budget", "printer", "bridge", "garden", "project", "concert", "recipe", "software", "train"],
    "adv": ["well", "smoothly", "quickly", "nicely", "reliably"],
}
TOXIC_TEMPLATES = [
    "you are a {insult} and everyone knows it",
    "shut up you {insult}",
    "what a {insult}, {profanity} off",
    "{profanity} you, you {insult}",
    "only a {insult} would write something this {insult2}",
    "nobody cares about your opinion, {insult}",
    "{threat}, you {insult}",
    "this {profanity} {insult} should be banned",
    "go away {insult}, {threat}",
    "are you really this {insult2}? {profanity}",
]
NSFW_TEMPLATES = [
    "free {nsfw} videos updated daily, watch {nsfw2} now",
    "hot {nsfw} pics and {nsfw2} clips, click to enter",
    "meet {nsfw} tonight, 18+ only, {nsfw2} chat",
    "best {nsfw} site with thousands of {nsfw2} movies",
    "{nsfw} {nsfw2} gallery, no signup required",
    "watch {nsfw} live on cam, {nsfw2} shows all night",
    "download {nsfw} {nsfw2} collection in HD",
    "the hottest {nsfw} stars in {nsfw2} scenes",
]

EVAL_TOXIC = [
    ("you are such a worthless idiot, nobody likes you", "toxic"),
    ("shut the fuck up, moron", "toxic"),
    ("go die in a fire you pathetic loser", "toxic"),
    ("what a stupid piece of shit this person is", "toxic"),
    ("you absolute clown, get lost", "toxic"),
    ("I hope you suffer, you disgusting bastard", "toxic"),
    ("thank you so much for the quick reply, it solved my problem", "non-toxic"),
    ("the library opens at nine on weekdays and ten on weekends", "non-toxic"),
    ("I think the second approach is cleaner, but both work", "non-toxic"),
    ("our team meets every Tuesday to review the roadmap", "non-toxic"),
    ("the soup needed more salt, otherwise dinner was lovely", "non-toxic"),
    ("please keep comments respectful and on topic", "non-toxic"),
]
EVAL_NSFW = [
    ("watch free hardcore porn videos, new xxx clips every day", "nsfw"),
    ("hot nude webcam girls waiting for you, 18+ only", "nsfw"),
    ("horny milfs in your area want to chat tonight", "nsfw"),
    ("explicit sex scenes gallery, no signup needed", "nsfw"),
    ("the best erotic escort listings in the city", "nsfw"),
    ("download naked celebrity porn pics in HD", "nsfw"),
    ("the museum's new exhibit covers renaissance painting techniques", "non-nsfw"),
    ("add two cups of flour and stir until the dough is smooth", "non-nsfw"),
    ("the train to Berlin leaves from platform four at noon", "non-nsfw"),
    ("regular exercise and sleep improve concentration", "non-nsfw"),
    ("our quarterly report shows steady growth in exports", "non-nsfw"),
    ("the children built a sandcastle at the beach", "non-nsfw"),
]
EVAL_QUALITY = [
    (
        "The mitochondrion is an organelle found in most eukaryotic cells. It generates most of the cell's "
        "supply of adenosine triphosphate, which is used as a source of chemical energy. Mitochondria have "
        "their own genome, which is inherited maternally in most species.",
        "wiki",
    ),
    (
        "A compiler translates source code written in a high-level programming language into a lower-level "
        "language such as machine code. Most compilers perform lexical analysis, parsing, semantic analysis "
        "and optimization before generating code for the target architecture.",
        "wiki",
    ),
    (
        "The river rises in the northern hills and flows south for about 300 kilometres before reaching the "
        "sea. Its basin supports agriculture, and several towns were founded along its banks during the "
        "medieval period, when the river was the main route for trade.",
        "wiki",
    ),
    (
        "Photosynthesis is the process by which plants and other organisms convert light energy into "
        "chemical "
        "energy. Oxygen is released as a by-product, and the stored energy is later used to fuel the "
        "organism's activities.",
        "wiki",
    ),
    (
        "Home | About | Contact | Login | Register | Cart (0) | Free shipping on orders over $50 | "
        "Subscribe to our newsletter | Privacy Policy | Terms | Cookies | Sitemap",
        "cc",
    ),
    (
        "BUY CHEAP VIAGRA ONLINE!!! best price guaranteed click here click here click here limited offer "
        "act now free bonus pills discount casino bonus win money fast",
        "cc",
    ),
    (
        "We use cookies to improve your experience. By continuing to browse you accept our cookie policy. "
        "Accept all | Reject | Settings | Learn more",
        "cc",
    ),
    (
        "cheap flights cheap hotels cheap cars cheap flights london cheap flights paris cheap hotels rome "
        "best cheap flights deals cheap cheap cheap",
        "cc",
    ),
    (
        "Posted by admin | 0 comments | Tags: news, best, top, 2024, free, download, crack, serial, keygen | "
        "Previous post | Next post | Related posts",
        "cc",
    ),
    (
        "click here to read more >> page 1 2 3 4 5 6 7 8 next >> last >> share on facebook share on twitter "
        "share on pinterest",
        "cc",
    ),
]
