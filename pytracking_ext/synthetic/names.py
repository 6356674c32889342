"""Official sequence names of each benchmark, used so generated datasets look like the real ones.

Only the leading part of each official list is kept (enough for miniature datasets); requests for
more sequences than a list holds continue with numbered names via :func:`take_names`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

# LaSOT test split in registry order (class, sequence number), D.4.1.
LASOT_TEST = (
    "airplane-1 airplane-9 airplane-13 airplane-15 basketball-1 basketball-6 basketball-7 basketball-11 "
    "bear-2 bear-4 bear-6 bear-17 bicycle-2 bicycle-7 bicycle-9 bicycle-18 bird-2 bird-3 bird-15 bird-17 "
    "boat-3 boat-4 boat-12 boat-17 book-3 book-10 book-11 book-19 bottle-1 bottle-12 bottle-14 bottle-18 "
    "bus-2 bus-5 bus-17 bus-19 car-2 car-6 car-9 car-17 cat-1 cat-3 cat-18 cat-20"
).split()

# UAV123 table head: (name after 'uav_', image folder, class), D.4.4. Parts of one video share a folder.
UAV123 = (
    ("bike1", "bike1", "vehicle"),
    ("bike2", "bike2", "vehicle"),
    ("bike3", "bike3", "vehicle"),
    ("bird1_1", "bird1", "bird"),
    ("bird1_2", "bird1", "bird"),
    ("bird1_3", "bird1", "bird"),
    ("boat1", "boat1", "vessel"),
    ("boat2", "boat2", "vessel"),
    ("boat3", "boat3", "vessel"),
    ("boat4", "boat4", "vessel"),
    ("boat5", "boat5", "vessel"),
    ("boat6", "boat6", "vessel"),
    ("boat7", "boat7", "vessel"),
    ("boat8", "boat8", "vessel"),
    ("boat9", "boat9", "vessel"),
    ("building1", "building1", "other"),
    ("building2", "building2", "other"),
    ("building3", "building3", "other"),
    ("building4", "building4", "other"),
    ("building5", "building5", "other"),
    ("car1_1", "car1", "car"),
    ("car1_2", "car1", "car"),
    ("car1_3", "car1", "car"),
    ("car10", "car10", "car"),
    ("car11", "car11", "car"),
    ("car12", "car12", "car"),
    ("car13", "car13", "car"),
    ("car14", "car14", "car"),
    ("car15", "car15", "car"),
    ("car16_1", "car16", "car"),
    ("car16_2", "car16", "car"),
)

# NFS (30 fps) names with a plausible object class, D.4.5.
NFS = (
    ("Gymnastics", "person"),
    ("MachLoop_jet", "aircraft"),
    ("Skiing_red", "person"),
    ("Skydiving", "person"),
    ("airboard_1", "person"),
    ("airplane_landing", "aircraft"),
    ("airtable_3", "object"),
    ("basketball_1", "ball"),
    ("basketball_2", "ball"),
    ("basketball_3", "ball"),
    ("basketball_6", "ball"),
    ("basketball_7", "ball"),
    ("basketball_player", "person"),
    ("basketball_player_2", "person"),
    ("beach_flipback_person", "person"),
    ("bee", "insect"),
    ("biker_acrobat", "person"),
    ("biker_all_1", "person"),
    ("biker_head_2", "face"),
    ("biker_head_3", "face"),
)

# OTB-100 standard entries (folder <name>/img, 4-digit jpg, groundtruth_rect.txt), D.4.6.
OTB = (
    "Basketball Biker Bird1 Bird2 BlurBody BlurCar2 BlurFace BlurOwl Bolt Bolt2 Box Boy Car1 Car2 "
    "Car24 Car4 CarDark CarScale ClifBar Coke Couple Coupon Crossing Crowds Dancer Dancer2 David2 "
    "David3 Deer Diving Dog Dog1 Doll DragonBaby Dudek FaceOcc1 FaceOcc2 Fish FleetFace Football"
).split()

# VOT2018 sequence names, D.4.7.
VOT2018 = (
    "ants1 ants3 bag ball1 ball2 basketball birds1 blanket bmx bolt1 bolt2 book butterfly car1 "
    "conduction1 crabs1 crossing dinosaur drone_across drone_flip drone1 fernando fish1 fish2 fish3 "
    "flamingo1 frisbee girl glove godfather graduate gymnastics1 gymnastics2 gymnastics3 hand "
    "handball1 handball2 helicopter iceskater1 iceskater2 leaves matrix motocross1 motocross2 nature "
    "pedestrian1 rabbit racing road shaking sheep singer2 singer3 soccer1 soccer2 soldier tiger "
    "traffic wiper zebrafish1"
).split()

# DAVIS sequence lists (ImageSets/<year>/<split>.txt order).
DAVIS2017_TRAIN = (
    "bear bmx-bumps boat boxing-fisheye breakdance-flare bus car-turn cat-girl classic-car color-run "
    "crossing dance-jump dancing disc-jockey dog-agility dog-gooses dogs-scale drift-turn drone elephant"
).split()
DAVIS2017_VAL = (
    "bike-packing blackswan bmx-trees breakdance camel car-roundabout car-shadow cows dance-twirl dog "
    "dogs-jump drift-chicane drift-straight goat gold-fish horsejump-high india judo kite-surf lab-coat"
).split()
DAVIS2016_VAL = (
    "blackswan bmx-trees breakdance camel car-roundabout car-shadow cows dance-twirl dog drift-chicane "
    "drift-straight goat horsejump-high kite-surf libby motocross-jump paragliding-launch parkour "
    "scooter-black soapbox"
).split()

# YouTube-VOS categories: the seen ones occur in train and valid, the unseen ones only in valid.
YTVOS_SEEN = ("person", "dog", "cat", "horse", "duck", "airplane", "truck", "zebra", "giraffe", "parrot")
YTVOS_UNSEEN = ("penguin", "turtle", "frog")

# GOT-10k meta_info.ini classes (object_class, motion_class, major_class, root_class, motion_adverb).
GOT10K_CLASSES = (
    ("sedan", "running", "car", "motor vehicle", "fast"),
    ("hare", "jumping", "rabbit", "animal", "slowly"),
    ("sea turtle", "swimming", "turtle", "animal", "slowly"),
    ("warplane", "flying", "aircraft", "craft", "fast"),
    ("goldfish", "swimming", "fish", "animal", "fast"),
    ("bicycle", "riding", "wheeled vehicle", "vehicle", "slowly"),
)


def take_names(table: Sequence, count: int, numbered: Callable[[int], object]) -> list:
    """The first ``count`` table entries; entries past the table come from ``numbered(i)`` (0-based i)."""
    names = list(table[:count])
    names.extend(numbered(i) for i in range(len(names), count))
    return names
