/* One-time passwords, RFC 2289: hashing, folding, the six-word and hex
 * encodings, and the stored state. */
#include "auth/otp.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/util.h"

/* RFC 2289 Appendix D: the standard dictionary, 2048 words sorted so that
 * the 571 of one to three letters come first. */
#define OTP_DICT_SIZE   2048
#define OTP_SHORT_WORDS 571

static const char otp_dict[][5] = {
    "A",    "ABE",  "ACE",  "ACT",  "AD",   "ADA",  "ADD",  "AGO",  "AID",
    "AIM",  "AIR",  "ALL",  "ALP",  "AM",   "AMY",  "AN",   "ANA",  "AND",
    "ANN",  "ANT",  "ANY",  "APE",  "APS",  "APT",  "ARC",  "ARE",  "ARK",
    "ARM",  "ART",  "AS",   "ASH",  "ASK",  "AT",   "ATE",  "AUG",  "AUK",
    "AVE",  "AWE",  "AWK",  "AWL",  "AWN",  "AX",   "AYE",  "BAD",  "BAG",
    "BAH",  "BAM",  "BAN",  "BAR",  "BAT",  "BAY",  "BE",   "BED",  "BEE",
    "BEG",  "BEN",  "BET",  "BEY",  "BIB",  "BID",  "BIG",  "BIN",  "BIT",
    "BOB",  "BOG",  "BON",  "BOO",  "BOP",  "BOW",  "BOY",  "BUB",  "BUD",
    "BUG",  "BUM",  "BUN",  "BUS",  "BUT",  "BUY",  "BY",   "BYE",  "CAB",
    "CAL",  "CAM",  "CAN",  "CAP",  "CAR",  "CAT",  "CAW",  "COD",  "COG",
    "COL",  "CON",  "COO",  "COP",  "COT",  "COW",  "COY",  "CRY",  "CUB",
    "CUE",  "CUP",  "CUR",  "CUT",  "DAB",  "DAD",  "DAM",  "DAN",  "DAR",
    "DAY",  "DEE",  "DEL",  "DEN",  "DES",  "DEW",  "DID",  "DIE",  "DIG",
    "DIN",  "DIP",  "DO",   "DOE",  "DOG",  "DON",  "DOT",  "DOW",  "DRY",
    "DUB",  "DUD",  "DUE",  "DUG",  "DUN",  "EAR",  "EAT",  "ED",   "EEL",
    "EGG",  "EGO",  "ELI",  "ELK",  "ELM",  "ELY",  "EM",   "END",  "EST",
    "ETC",  "EVA",  "EVE",  "EWE",  "EYE",  "FAD",  "FAN",  "FAR",  "FAT",
    "FAY",  "FED",  "FEE",  "FEW",  "FIB",  "FIG",  "FIN",  "FIR",  "FIT",
    "FLO",  "FLY",  "FOE",  "FOG",  "FOR",  "FRY",  "FUM",  "FUN",  "FUR",
    "GAB",  "GAD",  "GAG",  "GAL",  "GAM",  "GAP",  "GAS",  "GAY",  "GEE",
    "GEL",  "GEM",  "GET",  "GIG",  "GIL",  "GIN",  "GO",   "GOT",  "GUM",
    "GUN",  "GUS",  "GUT",  "GUY",  "GYM",  "GYP",  "HA",   "HAD",  "HAL",
    "HAM",  "HAN",  "HAP",  "HAS",  "HAT",  "HAW",  "HAY",  "HE",   "HEM",
    "HEN",  "HER",  "HEW",  "HEY",  "HI",   "HID",  "HIM",  "HIP",  "HIS",
    "HIT",  "HO",   "HOB",  "HOC",  "HOE",  "HOG",  "HOP",  "HOT",  "HOW",
    "HUB",  "HUE",  "HUG",  "HUH",  "HUM",  "HUT",  "I",    "ICY",  "IDA",
    "IF",   "IKE",  "ILL",  "INK",  "INN",  "IO",   "ION",  "IQ",   "IRA",
    "IRE",  "IRK",  "IS",   "IT",   "ITS",  "IVY",  "JAB",  "JAG",  "JAM",
    "JAN",  "JAR",  "JAW",  "JAY",  "JET",  "JIG",  "JIM",  "JO",   "JOB",
    "JOE",  "JOG",  "JOT",  "JOY",  "JUG",  "JUT",  "KAY",  "KEG",  "KEN",
    "KEY",  "KID",  "KIM",  "KIN",  "KIT",  "LA",   "LAB",  "LAC",  "LAD",
    "LAG",  "LAM",  "LAP",  "LAW",  "LAY",  "LEA",  "LED",  "LEE",  "LEG",
    "LEN",  "LEO",  "LET",  "LEW",  "LID",  "LIE",  "LIN",  "LIP",  "LIT",
    "LO",   "LOB",  "LOG",  "LOP",  "LOS",  "LOT",  "LOU",  "LOW",  "LOY",
    "LUG",  "LYE",  "MA",   "MAC",  "MAD",  "MAE",  "MAN",  "MAO",  "MAP",
    "MAT",  "MAW",  "MAY",  "ME",   "MEG",  "MEL",  "MEN",  "MET",  "MEW",
    "MID",  "MIN",  "MIT",  "MOB",  "MOD",  "MOE",  "MOO",  "MOP",  "MOS",
    "MOT",  "MOW",  "MUD",  "MUG",  "MUM",  "MY",   "NAB",  "NAG",  "NAN",
    "NAP",  "NAT",  "NAY",  "NE",   "NED",  "NEE",  "NET",  "NEW",  "NIB",
    "NIL",  "NIP",  "NIT",  "NO",   "NOB",  "NOD",  "NON",  "NOR",  "NOT",
    "NOV",  "NOW",  "NU",   "NUN",  "NUT",  "O",    "OAF",  "OAK",  "OAR",
    "OAT",  "ODD",  "ODE",  "OF",   "OFF",  "OFT",  "OH",   "OIL",  "OK",
    "OLD",  "ON",   "ONE",  "OR",   "ORB",  "ORE",  "ORR",  "OS",   "OTT",
    "OUR",  "OUT",  "OVA",  "OW",   "OWE",  "OWL",  "OWN",  "OX",   "PA",
    "PAD",  "PAL",  "PAM",  "PAN",  "PAP",  "PAR",  "PAT",  "PAW",  "PAY",
    "PEA",  "PEG",  "PEN",  "PEP",  "PER",  "PET",  "PEW",  "PHI",  "PI",
    "PIE",  "PIN",  "PIT",  "PLY",  "PO",   "POD",  "POE",  "POP",  "POT",
    "POW",  "PRO",  "PRY",  "PUB",  "PUG",  "PUN",  "PUP",  "PUT",  "QUO",
    "RAG",  "RAM",  "RAN",  "RAP",  "RAT",  "RAW",  "RAY",  "REB",  "RED",
    "REP",  "RET",  "RIB",  "RID",  "RIG",  "RIM",  "RIO",  "RIP",  "ROB",
    "ROD",  "ROE",  "RON",  "ROT",  "ROW",  "ROY",  "RUB",  "RUE",  "RUG",
    "RUM",  "RUN",  "RYE",  "SAC",  "SAD",  "SAG",  "SAL",  "SAM",  "SAN",
    "SAP",  "SAT",  "SAW",  "SAY",  "SEA",  "SEC",  "SEE",  "SEN",  "SET",
    "SEW",  "SHE",  "SHY",  "SIN",  "SIP",  "SIR",  "SIS",  "SIT",  "SKI",
    "SKY",  "SLY",  "SO",   "SOB",  "SOD",  "SON",  "SOP",  "SOW",  "SOY",
    "SPA",  "SPY",  "SUB",  "SUD",  "SUE",  "SUM",  "SUN",  "SUP",  "TAB",
    "TAD",  "TAG",  "TAN",  "TAP",  "TAR",  "TEA",  "TED",  "TEE",  "TEN",
    "THE",  "THY",  "TIC",  "TIE",  "TIM",  "TIN",  "TIP",  "TO",   "TOE",
    "TOG",  "TOM",  "TON",  "TOO",  "TOP",  "TOW",  "TOY",  "TRY",  "TUB",
    "TUG",  "TUM",  "TUN",  "TWO",  "UN",   "UP",   "US",   "USE",  "VAN",
    "VAT",  "VET",  "VIE",  "WAD",  "WAG",  "WAR",  "WAS",  "WAY",  "WE",
    "WEB",  "WED",  "WEE",  "WET",  "WHO",  "WHY",  "WIN",  "WIT",  "WOK",
    "WON",  "WOO",  "WOW",  "WRY",  "WU",   "YAM",  "YAP",  "YAW",  "YE",
    "YEA",  "YES",  "YET",  "YOU",  "ABED", "ABEL", "ABET", "ABLE", "ABUT",
    "ACHE", "ACID", "ACME", "ACRE", "ACTA", "ACTS", "ADAM", "ADDS", "ADEN",
    "AFAR", "AFRO", "AGEE", "AHEM", "AHOY", "AIDA", "AIDE", "AIDS", "AIRY",
    "AJAR", "AKIN", "ALAN", "ALEC", "ALGA", "ALIA", "ALLY", "ALMA", "ALOE",
    "ALSO", "ALTO", "ALUM", "ALVA", "AMEN", "AMES", "AMID", "AMMO", "AMOK",
    "AMOS", "AMRA", "ANDY", "ANEW", "ANNA", "ANNE", "ANTE", "ANTI", "AQUA",
    "ARAB", "ARCH", "AREA", "ARGO", "ARID", "ARMY", "ARTS", "ARTY", "ASIA",
    "ASKS", "ATOM", "AUNT", "AURA", "AUTO", "AVER", "AVID", "AVIS", "AVON",
    "AVOW", "AWAY", "AWRY", "BABE", "BABY", "BACH", "BACK", "BADE", "BAIL",
    "BAIT", "BAKE", "BALD", "BALE", "BALI", "BALK", "BALL", "BALM", "BAND",
    "BANE", "BANG", "BANK", "BARB", "BARD", "BARE", "BARK", "BARN", "BARR",
    "BASE", "BASH", "BASK", "BASS", "BATE", "BATH", "BAWD", "BAWL", "BEAD",
    "BEAK", "BEAM", "BEAN", "BEAR", "BEAT", "BEAU", "BECK", "BEEF", "BEEN",
    "BEER", "BEET", "BELA", "BELL", "BELT", "BEND", "BENT", "BERG", "BERN",
    "BERT", "BESS", "BEST", "BETA", "BETH", "BHOY", "BIAS", "BIDE", "BIEN",
    "BILE", "BILK", "BILL", "BIND", "BING", "BIRD", "BITE", "BITS", "BLAB",
    "BLAT", "BLED", "BLEW", "BLOB", "BLOC", "BLOT", "BLOW", "BLUE", "BLUM",
    "BLUR", "BOAR", "BOAT", "BOCA", "BOCK", "BODE", "BODY", "BOGY", "BOHR",
    "BOIL", "BOLD", "BOLO", "BOLT", "BOMB", "BONA", "BOND", "BONE", "BONG",
    "BONN", "BONY", "BOOK", "BOOM", "BOON", "BOOT", "BORE", "BORG", "BORN",
    "BOSE", "BOSS", "BOTH", "BOUT", "BOWL", "BOYD", "BRAD", "BRAE", "BRAG",
    "BRAN", "BRAY", "BRED", "BREW", "BRIG", "BRIM", "BROW", "BUCK", "BUDD",
    "BUFF", "BULB", "BULK", "BULL", "BUNK", "BUNT", "BUOY", "BURG", "BURL",
    "BURN", "BURR", "BURT", "BURY", "BUSH", "BUSS", "BUST", "BUSY", "BYTE",
    "CADY", "CAFE", "CAGE", "CAIN", "CAKE", "CALF", "CALL", "CALM", "CAME",
    "CANE", "CANT", "CARD", "CARE", "CARL", "CARR", "CART", "CASE", "CASH",
    "CASK", "CAST", "CAVE", "CEIL", "CELL", "CENT", "CERN", "CHAD", "CHAR",
    "CHAT", "CHAW", "CHEF", "CHEN", "CHEW", "CHIC", "CHIN", "CHOU", "CHOW",
    "CHUB", "CHUG", "CHUM", "CITE", "CITY", "CLAD", "CLAM", "CLAN", "CLAW",
    "CLAY", "CLOD", "CLOG", "CLOT", "CLUB", "CLUE", "COAL", "COAT", "COCA",
    "COCK", "COCO", "CODA", "CODE", "CODY", "COED", "COIL", "COIN", "COKE",
    "COLA", "COLD", "COLT", "COMA", "COMB", "COME", "COOK", "COOL", "COON",
    "COOT", "CORD", "CORE", "CORK", "CORN", "COST", "COVE", "COWL", "CRAB",
    "CRAG", "CRAM", "CRAY", "CREW", "CRIB", "CROW", "CRUD", "CUBA", "CUBE",
    "CUFF", "CULL", "CULT", "CUNY", "CURB", "CURD", "CURE", "CURL", "CURT",
    "CUTS", "DADE", "DALE", "DAME", "DANA", "DANE", "DANG", "DANK", "DARE",
    "DARK", "DARN", "DART", "DASH", "DATA", "DATE", "DAVE", "DAVY", "DAWN",
    "DAYS", "DEAD", "DEAF", "DEAL", "DEAN", "DEAR", "DEBT", "DECK", "DEED",
    "DEEM", "DEER", "DEFT", "DEFY", "DELL", "DENT", "DENY", "DESK", "DIAL",
    "DICE", "DIED", "DIET", "DIME", "DINE", "DING", "DINT", "DIRE", "DIRT",
    "DISC", "DISH", "DISK", "DIVE", "DOCK", "DOES", "DOLE", "DOLL", "DOLT",
    "DOME", "DONE", "DOOM", "DOOR", "DORA", "DOSE", "DOTE", "DOUG", "DOUR",
    "DOVE", "DOWN", "DRAB", "DRAG", "DRAM", "DRAW", "DREW", "DRUB", "DRUG",
    "DRUM", "DUAL", "DUCK", "DUCT", "DUEL", "DUET", "DUKE", "DULL", "DUMB",
    "DUNE", "DUNK", "DUSK", "DUST", "DUTY", "EACH", "EARL", "EARN", "EASE",
    "EAST", "EASY", "EBEN", "ECHO", "EDDY", "EDEN", "EDGE", "EDGY", "EDIT",
    "EDNA", "EGAN", "ELAN", "ELBA", "ELLA", "ELSE", "EMIL", "EMIT", "EMMA",
    "ENDS", "ERIC", "EROS", "EVEN", "EVER", "EVIL", "EYED", "FACE", "FACT",
    "FADE", "FAIL", "FAIN", "FAIR", "FAKE", "FALL", "FAME", "FANG", "FARM",
    "FAST", "FATE", "FAWN", "FEAR", "FEAT", "FEED", "FEEL", "FEET", "FELL",
    "FELT", "FEND", "FERN", "FEST", "FEUD", "FIEF", "FIGS", "FILE", "FILL",
    "FILM", "FIND", "FINE", "FINK", "FIRE", "FIRM", "FISH", "FISK", "FIST",
    "FITS", "FIVE", "FLAG", "FLAK", "FLAM", "FLAT", "FLAW", "FLEA", "FLED",
    "FLEW", "FLIT", "FLOC", "FLOG", "FLOW", "FLUB", "FLUE", "FOAL", "FOAM",
    "FOGY", "FOIL", "FOLD", "FOLK", "FOND", "FONT", "FOOD", "FOOL", "FOOT",
    "FORD", "FORE", "FORK", "FORM", "FORT", "FOSS", "FOUL", "FOUR", "FOWL",
    "FRAU", "FRAY", "FRED", "FREE", "FRET", "FREY", "FROG", "FROM", "FUEL",
    "FULL", "FUME", "FUND", "FUNK", "FURY", "FUSE", "FUSS", "GAFF", "GAGE",
    "GAIL", "GAIN", "GAIT", "GALA", "GALE", "GALL", "GALT", "GAME", "GANG",
    "GARB", "GARY", "GASH", "GATE", "GAUL", "GAUR", "GAVE", "GAWK", "GEAR",
    "GELD", "GENE", "GENT", "GERM", "GETS", "GIBE", "GIFT", "GILD", "GILL",
    "GILT", "GINA", "GIRD", "GIRL", "GIST", "GIVE", "GLAD", "GLEE", "GLEN",
    "GLIB", "GLOB", "GLOM", "GLOW", "GLUE", "GLUM", "GLUT", "GOAD", "GOAL",
    "GOAT", "GOER", "GOES", "GOLD", "GOLF", "GONE", "GONG", "GOOD", "GOOF",
    "GORE", "GORY", "GOSH", "GOUT", "GOWN", "GRAB", "GRAD", "GRAY", "GREG",
    "GREW", "GREY", "GRID", "GRIM", "GRIN", "GRIT", "GROW", "GRUB", "GULF",
    "GULL", "GUNK", "GURU", "GUSH", "GUST", "GWEN", "GWYN", "HAAG", "HAAS",
    "HACK", "HAIL", "HAIR", "HALE", "HALF", "HALL", "HALO", "HALT", "HAND",
    "HANG", "HANK", "HANS", "HARD", "HARK", "HARM", "HART", "HASH", "HAST",
    "HATE", "HATH", "HAUL", "HAVE", "HAWK", "HAYS", "HEAD", "HEAL", "HEAR",
    "HEAT", "HEBE", "HECK", "HEED", "HEEL", "HEFT", "HELD", "HELL", "HELM",
    "HERB", "HERD", "HERE", "HERO", "HERS", "HESS", "HEWN", "HICK", "HIDE",
    "HIGH", "HIKE", "HILL", "HILT", "HIND", "HINT", "HIRE", "HISS", "HIVE",
    "HOBO", "HOCK", "HOFF", "HOLD", "HOLE", "HOLM", "HOLT", "HOME", "HONE",
    "HONK", "HOOD", "HOOF", "HOOK", "HOOT", "HORN", "HOSE", "HOST", "HOUR",
    "HOVE", "HOWE", "HOWL", "HOYT", "HUCK", "HUED", "HUFF", "HUGE", "HUGH",
    "HUGO", "HULK", "HULL", "HUNK", "HUNT", "HURD", "HURL", "HURT", "HUSH",
    "HYDE", "HYMN", "IBIS", "ICON", "IDEA", "IDLE", "IFFY", "INCA", "INCH",
    "INTO", "IONS", "IOTA", "IOWA", "IRIS", "IRMA", "IRON", "ISLE", "ITCH",
    "ITEM", "IVAN", "JACK", "JADE", "JAIL", "JAKE", "JANE", "JAVA", "JEAN",
    "JEFF", "JERK", "JESS", "JEST", "JIBE", "JILL", "JILT", "JIVE", "JOAN",
    "JOBS", "JOCK", "JOEL", "JOEY", "JOHN", "JOIN", "JOKE", "JOLT", "JOVE",
    "JUDD", "JUDE", "JUDO", "JUDY", "JUJU", "JUKE", "JULY", "JUNE", "JUNK",
    "JUNO", "JURY", "JUST", "JUTE", "KAHN", "KALE", "KANE", "KANT", "KARL",
    "KATE", "KEEL", "KEEN", "KENO", "KENT", "KERN", "KERR", "KEYS", "KICK",
    "KILL", "KIND", "KING", "KIRK", "KISS", "KITE", "KLAN", "KNEE", "KNEW",
    "KNIT", "KNOB", "KNOT", "KNOW", "KOCH", "KONG", "KUDO", "KURD", "KURT",
    "KYLE", "LACE", "LACK", "LACY", "LADY", "LAID", "LAIN", "LAIR", "LAKE",
    "LAMB", "LAME", "LAND", "LANE", "LANG", "LARD", "LARK", "LASS", "LAST",
    "LATE", "LAUD", "LAVA", "LAWN", "LAWS", "LAYS", "LEAD", "LEAF", "LEAK",
    "LEAN", "LEAR", "LEEK", "LEER", "LEFT", "LEND", "LENS", "LENT", "LEON",
    "LESK", "LESS", "LEST", "LETS", "LIAR", "LICE", "LICK", "LIED", "LIEN",
    "LIES", "LIEU", "LIFE", "LIFT", "LIKE", "LILA", "LILT", "LILY", "LIMA",
    "LIMB", "LIME", "LIND", "LINE", "LINK", "LINT", "LION", "LISA", "LIST",
    "LIVE", "LOAD", "LOAF", "LOAM", "LOAN", "LOCK", "LOFT", "LOGE", "LOIS",
    "LOLA", "LONE", "LONG", "LOOK", "LOON", "LOOT", "LORD", "LORE", "LOSE",
    "LOSS", "LOST", "LOUD", "LOVE", "LOWE", "LUCK", "LUCY", "LUGE", "LUKE",
    "LULU", "LUND", "LUNG", "LURA", "LURE", "LURK", "LUSH", "LUST", "LYLE",
    "LYNN", "LYON", "LYRA", "MACE", "MADE", "MAGI", "MAID", "MAIL", "MAIN",
    "MAKE", "MALE", "MALI", "MALL", "MALT", "MANA", "MANN", "MANY", "MARC",
    "MARE", "MARK", "MARS", "MART", "MARY", "MASH", "MASK", "MASS", "MAST",
    "MATE", "MATH", "MAUL", "MAYO", "MEAD", "MEAL", "MEAN", "MEAT", "MEEK",
    "MEET", "MELD", "MELT", "MEMO", "MEND", "MENU", "MERT", "MESH", "MESS",
    "MICE", "MIKE", "MILD", "MILE", "MILK", "MILL", "MILT", "MIMI", "MIND",
    "MINE", "MINI", "MINK", "MINT", "MIRE", "MISS", "MIST", "MITE", "MITT",
    "MOAN", "MOAT", "MOCK", "MODE", "MOLD", "MOLE", "MOLL", "MOLT", "MONA",
    "MONK", "MONT", "MOOD", "MOON", "MOOR", "MOOT", "MORE", "MORN", "MORT",
    "MOSS", "MOST", "MOTH", "MOVE", "MUCH", "MUCK", "MUDD", "MUFF", "MULE",
    "MULL", "MURK", "MUSH", "MUST", "MUTE", "MUTT", "MYRA", "MYTH", "NAGY",
    "NAIL", "NAIR", "NAME", "NARY", "NASH", "NAVE", "NAVY", "NEAL", "NEAR",
    "NEAT", "NECK", "NEED", "NEIL", "NELL", "NEON", "NERO", "NESS", "NEST",
    "NEWS", "NEWT", "NIBS", "NICE", "NICK", "NILE", "NINA", "NINE", "NOAH",
    "NODE", "NOEL", "NOLL", "NONE", "NOOK", "NOON", "NORM", "NOSE", "NOTE",
    "NOUN", "NOVA", "NUDE", "NULL", "NUMB", "OATH", "OBEY", "OBOE", "ODIN",
    "OHIO", "OILY", "OINT", "OKAY", "OLAF", "OLDY", "OLGA", "OLIN", "OMAN",
    "OMEN", "OMIT", "ONCE", "ONES", "ONLY", "ONTO", "ONUS", "ORAL", "ORGY",
    "OSLO", "OTIS", "OTTO", "OUCH", "OUST", "OUTS", "OVAL", "OVEN", "OVER",
    "OWLY", "OWNS", "QUAD", "QUIT", "QUOD", "RACE", "RACK", "RACY", "RAFT",
    "RAGE", "RAID", "RAIL", "RAIN", "RAKE", "RANK", "RANT", "RARE", "RASH",
    "RATE", "RAVE", "RAYS", "READ", "REAL", "REAM", "REAR", "RECK", "REED",
    "REEF", "REEK", "REEL", "REID", "REIN", "RENA", "REND", "RENT", "REST",
    "RICE", "RICH", "RICK", "RIDE", "RIFT", "RILL", "RIME", "RING", "RINK",
    "RISE", "RISK", "RITE", "ROAD", "ROAM", "ROAR", "ROBE", "ROCK", "RODE",
    "ROIL", "ROLL", "ROME", "ROOD", "ROOF", "ROOK", "ROOM", "ROOT", "ROSA",
    "ROSE", "ROSS", "ROSY", "ROTH", "ROUT", "ROVE", "ROWE", "ROWS", "RUBE",
    "RUBY", "RUDE", "RUDY", "RUIN", "RULE", "RUNG", "RUNS", "RUNT", "RUSE",
    "RUSH", "RUSK", "RUSS", "RUST", "RUTH", "SACK", "SAFE", "SAGE", "SAID",
    "SAIL", "SALE", "SALK", "SALT", "SAME", "SAND", "SANE", "SANG", "SANK",
    "SARA", "SAUL", "SAVE", "SAYS", "SCAN", "SCAR", "SCAT", "SCOT", "SEAL",
    "SEAM", "SEAR", "SEAT", "SEED", "SEEK", "SEEM", "SEEN", "SEES", "SELF",
    "SELL", "SEND", "SENT", "SETS", "SEWN", "SHAG", "SHAM", "SHAW", "SHAY",
    "SHED", "SHIM", "SHIN", "SHOD", "SHOE", "SHOT", "SHOW", "SHUN", "SHUT",
    "SICK", "SIDE", "SIFT", "SIGH", "SIGN", "SILK", "SILL", "SILO", "SILT",
    "SINE", "SING", "SINK", "SIRE", "SITE", "SITS", "SITU", "SKAT", "SKEW",
    "SKID", "SKIM", "SKIN", "SKIT", "SLAB", "SLAM", "SLAT", "SLAY", "SLED",
    "SLEW", "SLID", "SLIM", "SLIT", "SLOB", "SLOG", "SLOT", "SLOW", "SLUG",
    "SLUM", "SLUR", "SMOG", "SMUG", "SNAG", "SNOB", "SNOW", "SNUB", "SNUG",
    "SOAK", "SOAR", "SOCK", "SODA", "SOFA", "SOFT", "SOIL", "SOLD", "SOME",
    "SONG", "SOON", "SOOT", "SORE", "SORT", "SOUL", "SOUR", "SOWN", "STAB",
    "STAG", "STAN", "STAR", "STAY", "STEM", "STEW", "STIR", "STOW", "STUB",
    "STUN", "SUCH", "SUDS", "SUIT", "SULK", "SUMS", "SUNG", "SUNK", "SURE",
    "SURF", "SWAB", "SWAG", "SWAM", "SWAN", "SWAT", "SWAY", "SWIM", "SWUM",
    "TACK", "TACT", "TAIL", "TAKE", "TALE", "TALK", "TALL", "TANK", "TASK",
    "TATE", "TAUT", "TEAL", "TEAM", "TEAR", "TECH", "TEEM", "TEEN", "TEET",
    "TELL", "TEND", "TENT", "TERM", "TERN", "TESS", "TEST", "THAN", "THAT",
    "THEE", "THEM", "THEN", "THEY", "THIN", "THIS", "THUD", "THUG", "TICK",
    "TIDE", "TIDY", "TIED", "TIER", "TILE", "TILL", "TILT", "TIME", "TINA",
    "TINE", "TINT", "TINY", "TIRE", "TOAD", "TOGO", "TOIL", "TOLD", "TOLL",
    "TONE", "TONG", "TONY", "TOOK", "TOOL", "TOOT", "TORE", "TORN", "TOTE",
    "TOUR", "TOUT", "TOWN", "TRAG", "TRAM", "TRAY", "TREE", "TREK", "TRIG",
    "TRIM", "TRIO", "TROD", "TROT", "TROY", "TRUE", "TUBA", "TUBE", "TUCK",
    "TUFT", "TUNA", "TUNE", "TUNG", "TURF", "TURN", "TUSK", "TWIG", "TWIN",
    "TWIT", "ULAN", "UNIT", "URGE", "USED", "USER", "USES", "UTAH", "VAIL",
    "VAIN", "VALE", "VARY", "VASE", "VAST", "VEAL", "VEDA", "VEIL", "VEIN",
    "VEND", "VENT", "VERB", "VERY", "VETO", "VICE", "VIEW", "VINE", "VISE",
    "VOID", "VOLT", "VOTE", "WACK", "WADE", "WAGE", "WAIL", "WAIT", "WAKE",
    "WALE", "WALK", "WALL", "WALT", "WAND", "WANE", "WANG", "WANT", "WARD",
    "WARM", "WARN", "WART", "WASH", "WAST", "WATS", "WATT", "WAVE", "WAVY",
    "WAYS", "WEAK", "WEAL", "WEAN", "WEAR", "WEED", "WEEK", "WEIR", "WELD",
    "WELL", "WELT", "WENT", "WERE", "WERT", "WEST", "WHAM", "WHAT", "WHEE",
    "WHEN", "WHET", "WHOA", "WHOM", "WICK", "WIFE", "WILD", "WILL", "WIND",
    "WINE", "WING", "WINK", "WINO", "WIRE", "WISE", "WISH", "WITH", "WOLF",
    "WONT", "WOOD", "WOOL", "WORD", "WORE", "WORK", "WORM", "WORN", "WOVE",
    "WRIT", "WYNN", "YALE", "YANG", "YANK", "YARD", "YARN", "YAWL", "YAWN",
    "YEAH", "YEAR", "YELL", "YOGA", "YOKE",
};
static_assert(N_ELEMENTS(otp_dict) == OTP_DICT_SIZE,
              "RFC 2289 Appendix D has 2048 words");

/* A piece of a string, between separators. */
struct otp_span {
	const char *p;
	size_t len;
};

/* RFC 2243 2.2: whitespace may be repeated wherever it is allowed. */
static bool
otp_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char
otp_ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static char
otp_ascii_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Splits s at runs of whitespace into at most max tokens.  Returns how
 * many there are, or max + 1 if there are more. */
static size_t
otp_split(const char *s, size_t len, struct otp_span *tok_r, size_t max)
{
	const char *p = s, *end = s + len;
	size_t n = 0;
	for (;;) {
		while (p < end && otp_is_space(*p))
			p++;
		if (p == end)
			return n;
		if (n == max)
			return max + 1;
		tok_r[n].p = p;
		while (p < end && !otp_is_space(*p))
			p++;
		tok_r[n].len = (size_t)(p - tok_r[n].p);
		n++;
	}
}

bool
otp_alg_parse(const char *name, size_t len, enum otp_alg *alg_r)
{
	if (mem_case_eq(name, len, "md5"))
		*alg_r = OTP_ALG_MD5;
	else if (mem_case_eq(name, len, "sha1"))
		*alg_r = OTP_ALG_SHA1;
	else
		return false; /* "md4" too: OpenSSL 3 only has it in legacy */
	return true;
}

const char *
otp_alg_name(enum otp_alg alg)
{
	return alg == OTP_ALG_SHA1 ? "sha1" : "md5";
}

bool
otp_seed_valid(const char *seed, size_t len)
{
	if (len == 0 || len > OTP_SEED_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = seed[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

/* RFC 2289 6: seeds are case-insensitive and hashed in lower case. */
static void
otp_seed_lower(const char *seed, size_t len, char seed_r[OTP_SEED_MAX + 1])
{
	i_assert(len <= OTP_SEED_MAX);
	for (size_t i = 0; i < len; i++)
		seed_r[i] = otp_ascii_lower(seed[i]);
	seed_r[len] = '\0';
}

void
otp_seed_from_bytes(const unsigned char bytes[6], char seed_r[OTP_SEED_MAX + 1])
{
	seed_r[0] = (char)('a' + bytes[0] % 26);
	seed_r[1] = (char)('a' + bytes[1] % 26);
	for (size_t i = 2; i < 6; i++)
		seed_r[i] = (char)('0' + bytes[i] % 10);
	seed_r[6] = '\0';
}

/* RFC 2289 5 and Appendix A: MD5 folds by XORing the digest's two
 * halves. */
static void
otp_fold_md5(const unsigned char digest[16], unsigned char key_r[OTP_KEY_SIZE])
{
	for (size_t i = 0; i < OTP_KEY_SIZE; i++)
		key_r[i] = digest[i] ^ digest[i + 8];
}

/* RFC 2289 Appendix A: SHA-1 folds its five big-endian 32-bit words as
 * w0^w2^w4 and w1^w3, each then written least significant byte first.
 * The Appendix C vectors depend on that byte order. */
static void
otp_fold_sha1(const unsigned char digest[20], unsigned char key_r[OTP_KEY_SIZE])
{
	for (size_t i = 0; i < 4; i++) {
		key_r[i] = digest[3 - i] ^ digest[11 - i] ^ digest[19 - i];
		key_r[4 + i] = digest[7 - i] ^ digest[15 - i];
	}
}

int
otp_hash_fold(enum otp_alg alg, const void *data, size_t len,
              unsigned char key_r[OTP_KEY_SIZE])
{
	const EVP_MD *md = alg == OTP_ALG_SHA1 ? EVP_sha1() : EVP_md5();
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len;
	if (EVP_Digest(data, len, digest, &digest_len, md, NULL) != 1)
		return -1;
	if (alg == OTP_ALG_SHA1)
		otp_fold_sha1(digest, key_r);
	else
		otp_fold_md5(digest, key_r);
	secure_zero(digest, sizeof(digest));
	return 0;
}

/* RFC 2289 6, the initial step: hash(lower-case seed || pass phrase). */
static int
otp_initial_step(enum otp_alg alg, const char *seed, const char *passphrase,
                 unsigned char key_r[OTP_KEY_SIZE])
{
	size_t seed_len = strlen(seed), pass_len = strlen(passphrase);
	if (!otp_seed_valid(seed, seed_len) || pass_len < OTP_PASSPHRASE_MIN ||
	    pass_len > OTP_PASSPHRASE_MAX)
		return -1;
	char buf[OTP_SEED_MAX + 1 + OTP_PASSPHRASE_MAX];
	otp_seed_lower(seed, seed_len, buf);
	memcpy(buf + seed_len, passphrase, pass_len);
	int r = otp_hash_fold(alg, buf, seed_len + pass_len, key_r);
	secure_zero(buf, sizeof(buf));
	return r;
}

int
otp_compute(enum otp_alg alg, const char *seed, const char *passphrase,
            unsigned seq, unsigned char key_r[OTP_KEY_SIZE])
{
	if (seq > OTP_SEQ_MAX + 1 ||
	    otp_initial_step(alg, seed, passphrase, key_r) < 0)
		return -1;
	/* RFC 2289 6, the computation step, once per sequence number. */
	for (unsigned i = 0; i < seq; i++) {
		if (otp_hash_fold(alg, key_r, OTP_KEY_SIZE, key_r) < 0) {
			secure_zero(key_r, OTP_KEY_SIZE);
			return -1;
		}
	}
	return 0;
}

void
otp_key_to_hex(const unsigned char key[OTP_KEY_SIZE], char hex_r[OTP_HEX_SIZE])
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < OTP_KEY_SIZE; i++) {
		hex_r[2 * i] = digits[key[i] >> 4];
		hex_r[2 * i + 1] = digits[key[i] & 0x0f];
	}
	hex_r[2 * OTP_KEY_SIZE] = '\0';
}

bool
otp_key_from_hex(const char *s, size_t len, unsigned char key_r[OTP_KEY_SIZE])
{
	unsigned char key[OTP_KEY_SIZE] = {0};
	size_t digits = 0;
	for (size_t i = 0; i < len; i++) {
		if (otp_is_space(s[i]))
			continue;
		int v = hex_digit_value((unsigned char)s[i]);
		if (v < 0 || digits == 2 * OTP_KEY_SIZE)
			return false;
		key[digits / 2] |=
		    (unsigned char)(digits % 2 == 0 ? v << 4 : v);
		digits++;
	}
	if (digits != 2 * OTP_KEY_SIZE)
		return false;
	memcpy(key_r, key, OTP_KEY_SIZE);
	return true;
}

static uint64_t
otp_key_get(const unsigned char key[OTP_KEY_SIZE])
{
	uint64_t v = 0;
	for (size_t i = 0; i < OTP_KEY_SIZE; i++)
		v = v << 8 | key[i];
	return v;
}

static void
otp_key_put(uint64_t v, unsigned char key_r[OTP_KEY_SIZE])
{
	for (size_t i = OTP_KEY_SIZE; i-- > 0; v >>= 8)
		key_r[i] = (unsigned char)(v & 0xff);
}

/* RFC 2289 6: the checksum is the sum of the 64 bits taken in pairs. */
static unsigned
otp_checksum(uint64_t v)
{
	unsigned sum = 0;
	for (unsigned shift = 0; shift < 64; shift += 2)
		sum += (unsigned)(v >> shift) & 3;
	return sum & 3;
}

/* RFC 2289 6: the 64 bits, then the checksum, read as six 11-bit
 * dictionary indices, most significant first. */
static void
otp_indices_from_bits(uint64_t v, unsigned idx_r[6])
{
	for (unsigned i = 0; i < 5; i++)
		idx_r[i] = (unsigned)(v >> (53 - 11 * i)) & 0x7ff;
	idx_r[5] = (unsigned)(v & 0x1ff) << 2 | otp_checksum(v);
}

/* The inverse; false if the checksum does not match. */
static bool
otp_bits_from_indices(const unsigned idx[6], uint64_t *v_r)
{
	uint64_t v = idx[5] >> 2;
	for (unsigned i = 0; i < 5; i++)
		v |= (uint64_t)idx[i] << (53 - 11 * i);
	*v_r = v;
	return (idx[5] & 3) == otp_checksum(v);
}

void
otp_key_to_words(const unsigned char key[OTP_KEY_SIZE],
                 char words_r[OTP_WORDS_SIZE])
{
	unsigned idx[6];
	otp_indices_from_bits(otp_key_get(key), idx);
	words_r[0] = '\0';
	for (size_t i = 0; i < 6; i++) {
		if (i > 0)
			casella_strlcat(words_r, " ", OTP_WORDS_SIZE);
		casella_strlcat(words_r, otp_dict[idx[i]], OTP_WORDS_SIZE);
	}
}

static int
otp_dict_cmp(const void *key, const void *entry)
{
	return strcmp(key, entry);
}

/* The dictionary index of a word in any case, or -1.  Each length group
 * of the dictionary is sorted, so it is searched in two halves. */
static int
otp_word_index(const char *word, size_t len)
{
	char upper[5];
	if (len == 0 || len > 4)
		return -1;
	for (size_t i = 0; i < len; i++)
		upper[i] = otp_ascii_upper(word[i]);
	upper[len] = '\0';
	size_t first = len < 4 ? 0 : OTP_SHORT_WORDS;
	size_t count = len < 4 ? OTP_SHORT_WORDS : OTP_DICT_SIZE - first;
	const char(*hit)[5] = bsearch(upper, otp_dict + first, count,
	                              sizeof(otp_dict[0]), otp_dict_cmp);
	return hit == NULL ? -1 : (int)(hit - otp_dict);
}

bool
otp_key_from_words(const char *s, size_t len, unsigned char key_r[OTP_KEY_SIZE])
{
	struct otp_span tok[6];
	unsigned idx[6];
	if (otp_split(s, len, tok, 6) != 6)
		return false;
	for (size_t i = 0; i < 6; i++) {
		int v = otp_word_index(tok[i].p, tok[i].len);
		if (v < 0)
			return false;
		idx[i] = (unsigned)v;
	}
	uint64_t bits;
	if (!otp_bits_from_indices(idx, &bits))
		return false;
	otp_key_put(bits, key_r);
	return true;
}

/* ALG SEQ SEED, already split. */
static bool
otp_params_from_tokens(const struct otp_span tok[3], struct otp_state *state_r)
{
	uint64_t seq;
	if (!otp_alg_parse(tok[0].p, tok[0].len, &state_r->alg) ||
	    !parse_u64(tok[1].p, tok[1].len, OTP_SEQ_MAX + 1, &seq) ||
	    !otp_seed_valid(tok[2].p, tok[2].len))
		return false;
	state_r->seq = (unsigned)seq;
	otp_seed_lower(tok[2].p, tok[2].len, state_r->seed);
	return true;
}

bool
otp_params_parse(const char *s, size_t len, struct otp_state *state_r)
{
	struct otp_span tok[3];
	return otp_split(s, len, tok, 3) == 3 &&
	       otp_params_from_tokens(tok, state_r);
}

bool
otp_state_parse(const char *value, struct otp_state *state_r)
{
	struct otp_span tok[4];
	return otp_split(value, strlen(value), tok, 4) == 4 &&
	       otp_params_from_tokens(tok, state_r) &&
	       tok[3].len == 2 * OTP_KEY_SIZE &&
	       otp_key_from_hex(tok[3].p, tok[3].len, state_r->key);
}

int
otp_state_format(const struct otp_state *state, char *value_r, size_t size)
{
	char hex[OTP_HEX_SIZE];
	otp_key_to_hex(state->key, hex);
	int n = snprintf(value_r, size, "%s %u %s %s", otp_alg_name(state->alg),
	                 state->seq, state->seed, hex);
	if (n < 0 || (size_t)n >= size) {
		if (size > 0)
			value_r[0] = '\0';
		return -1;
	}
	return 0;
}

int
otp_credential_make(const char *alg, unsigned seq, const char *seed,
                    const char *passphrase, char *value_r, size_t size)
{
	struct otp_state state = {0};
	size_t seed_len = strlen(seed);
	if (size > 0)
		value_r[0] = '\0';
	if (!otp_alg_parse(alg, strlen(alg), &state.alg) || seq < 1 ||
	    seq > OTP_SEQ_MAX || !otp_seed_valid(seed, seed_len))
		return -1;
	/* The state holds the OTP "last accepted", one past the first
	 * challenge. */
	state.seq = seq + 1;
	otp_seed_lower(seed, seed_len, state.seed);
	int r = otp_compute(state.alg, seed, passphrase, state.seq, state.key);
	if (r == 0)
		r = otp_state_format(&state, value_r, size);
	secure_zero(&state, sizeof(state));
	return r;
}
