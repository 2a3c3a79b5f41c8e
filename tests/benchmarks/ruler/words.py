"""Needle keys: adjective-noun pairs, as RULER draws from wonderwords' word lists.

RULER builds keys like "abashed-pig" from wonderwords' adjective and noun lists;
wonderwords is one of the dependencies we do not install, so a fixed list of
common English words stands in for it. Keys stay two real words joined by a hyphen.
"""

ADJECTIVES = """
abashed abrupt absent acidic adorable aloof amused ancient angry anxious aquatic arrogant
bashful bitter blushing bored brave breezy bright brisk bumpy busy calm careful cheerful
chilly clever clumsy cloudy cold colossal cozy crabby crooked cruel curious damp dapper
dazzling defiant delightful dizzy drab dreary dusty eager early elegant empty envious
faded faint fancy fearless feeble fierce filthy flaky fluffy foolish fragile frantic
friendly frosty fuzzy gentle giant giddy glamorous gleaming gloomy glossy graceful grumpy
handsome happy harsh hasty heavy helpful hollow humble hungry icy idle itchy jagged jolly
juicy kind lazy little lively lonely loud lucky lumpy magnificent mellow messy mighty
modern muddy narrow nervous nimble noisy obedient odd old orange panicky perfect plain
polite proud puzzled quaint quiet rapid rare rough round royal rustic salty scary shaggy
shiny shy silent silly sleepy slimy smoggy snobbish soggy sour sparkling spicy splendid
spotless steady sticky stormy striped sturdy sulky sweet swift tame tangy tart tense thirsty
tidy tiny tough tranquil ugly uneven upbeat vague vast vivid wacky wandering wary weary
wicked wide wild windy wise witty wobbly wooden worried yellow young zany zealous
""".split()

NOUNS = """
acorn actor airport alarm album anchor apple apron arch armchair attic badge bagel bakery
balloon banjo barn basket beach beard beetle bell bench bicycle biscuit blanket blender
bonnet bottle boulder bracelet bridge broom bucket buffalo button cabin cactus camel candle
canoe canyon carpet castle cellar chapel cheetah chimney circus cliff clock closet cobra
comet compass cookie cottage crayon crocodile cushion daisy desert dolphin donkey dragon
drum eagle easel elbow elephant engine falcon feather fence ferry fiddle flute forest
fountain fox garage garden giraffe glacier goose guitar hammer harbor harp hedge helmet
hippo honey horizon igloo island jacket jaguar jelly kettle kitten ladder lagoon lantern
lemon leopard library lighthouse lizard lobster locket magnet mango maple meadow mitten
monkey moose mountain mushroom napkin necklace nest notebook oasis octopus orchard otter
oven owl paddle palace panda parrot peach pebble pelican penguin piano pillow pirate
planet pony puddle pumpkin quilt rabbit raccoon radish rainbow raven ribbon river rocket
saddle salmon sandal scarf seal shovel skate sled snail sparrow spider sponge squirrel
statue stove submarine sunflower swan tablet teapot tiger toaster tomato tortoise tower
tractor trumpet tulip turtle umbrella valley violin volcano wagon walrus whale whistle
window wizard yacht zebra
""".split()

KEYS = sorted({f"{a}-{n}" for a in ADJECTIVES for n in NOUNS})
