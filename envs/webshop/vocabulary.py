"""Word lists for the synthetic catalogue: the original's five categories, with
product types, breadcrumbs, attribute phrases and option groups.

Option values are lowercase and never collide with page buttons. Within one
product no value appears in two option groups (the generator checks)."""
from __future__ import annotations

COLORS = ("black", "white", "navy blue", "light grey", "dark grey", "red", "wine red", "pink", "hot pink",
          "beige", "khaki", "olive green", "army green", "sky blue", "royal blue", "brown", "coffee",
          "purple", "lavender", "yellow", "mustard", "orange", "coral", "teal", "silver", "gold",
          "rose gold", "ivory", "cream", "charcoal", "mint green", "burgundy", "natural", "walnut",
          "espresso", "clear", "multicolor", "leopard", "camouflage", "floral print")
APPAREL_SIZES = ("x-small", "small", "medium", "large", "x-large", "xx-large", "3x-large")
SHOE_SIZES = ("6", "6.5", "7", "7.5", "8", "8.5", "9", "9.5", "10", "10.5", "11", "12")
FURNITURE_SIZES = ("24 inch", "30 inch", "36 inch", "40 inch", "47 inch", "55 inch", "63 inch", "71 inch")
BEDDING_SIZES = ("twin", "full", "queen", "king", "california king")
FOOD_SIZES = ("4 ounce (pack of 1)", "8 ounce (pack of 2)", "12 ounce (pack of 6)", "1 pound (pack of 1)",
              "16 ounce (pack of 3)", "2 pound (pack of 1)", "24 count (pack of 1)", "6 count (pack of 4)")
FLAVORS = ("vanilla", "chocolate", "strawberry", "original", "sea salt", "honey roasted", "cinnamon",
           "peanut butter", "lemon", "mixed berry", "caramel", "matcha", "hazelnut", "spicy chili", "mango")
BEAUTY_SIZES = ("1 fl oz (pack of 1)", "3.4 fl oz (pack of 1)", "6.7 fl oz (pack of 2)", "0.5 ounce",
                "2 ounce", "8 ounce", "16 ounce", "travel size")
SCENTS = ("lavender", "unscented", "coconut", "rose", "eucalyptus", "citrus", "vanilla", "ocean breeze",
          "sandalwood", "green tea", "cherry blossom", "fresh cotton")
HAIR_LENGTHS = ("14 inch", "16 inch", "18 inch", "20 inch", "22 inch", "24 inch")
STORAGE = ("32gb", "64gb", "128gb", "256gb", "512gb", "1tb")
PACKS = ("1 pack", "2 pack", "3 pack", "4 pack", "6 pack", "10 pack")
CABLE_LENGTHS = ("3 ft", "6 ft", "10 ft", "15 ft", "25 ft")
STYLES_ELEC = ("with charger", "without charger", "bundle", "standard", "pro version", "with case")
STYLES_FURN = ("modern", "farmhouse", "industrial", "mid-century", "rustic", "contemporary")

# category -> (breadcrumb root, attribute phrases, [product types])
# product type: (title noun phrase, scraping query, breadcrumb tail, option groups, (price lo, price hi))
CATEGORIES: dict[str, tuple] = {
    "beauty": (
        "Beauty & Personal Care",
        ("long lasting", "paraben free", "cruelty free", "natural ingredients", "sensitive skin",
         "easy apply", "fine lines", "dry skin", "hair growth", "dead skin", "high quality", "travel size",
         "non toxic", "alcohol free", "anti aging", "oil free", "hyaluronic acid", "tea tree", "argan oil",
         "sulfate free", "damaged hair", "fragrance free", "vitamin c", "easy carry", "cleansing oil",
         "dermatologist tested", "vegan formula", "quick drying", "water resistant", "daily use"),
        (
            ("Hair Extension", "hair extensions", "Hair Care › Hair Extensions, Wigs & Accessories › Hair Extensions",
             (("color", COLORS), ("size", HAIR_LENGTHS)), (9.0, 89.0)),
            ("Face Moisturizer", "face moisturizer", "Skin Care › Face › Creams & Moisturizers",
             (("size", BEAUTY_SIZES), ("scent", SCENTS)), (6.0, 64.0)),
            ("Shampoo", "shampoo", "Hair Care › Shampoo & Conditioner › Shampoos",
             (("size", BEAUTY_SIZES), ("scent", SCENTS)), (5.0, 39.0)),
            ("Lipstick", "lipstick", "Makeup › Lips › Lipstick", (("color", COLORS),), (4.0, 29.0)),
            ("Nail Polish", "nail polish", "Foot, Hand & Nail Care › Nail Art & Polish › Nail Polish",
             (("color", COLORS),), (3.0, 19.0)),
            ("Eye Cream", "eye cream", "Skin Care › Eyes › Creams", (("size", BEAUTY_SIZES),), (8.0, 59.0)),
            ("Body Wash", "body wash", "Personal Care › Bath & Bathing Accessories › Body Washes",
             (("scent", SCENTS), ("size", BEAUTY_SIZES)), (4.0, 24.0)),
            ("Makeup Brush Set", "makeup brushes", "Tools & Accessories › Makeup Brushes & Tools › Brush Sets",
             (("color", COLORS),), (7.0, 45.0)),
            ("Hair Dryer", "hair dryer", "Hair Care › Styling Tools & Appliances › Hair Dryers",
             (("color", COLORS),), (19.0, 149.0)),
            ("Deodorant", "deodorant", "Personal Care › Deodorants & Antiperspirants › Deodorant",
             (("scent", SCENTS), ("size", PACKS)), (3.0, 22.0)),
            ("Sunscreen", "sunscreen", "Skin Care › Sunscreens & Tanning Products › Sunscreens",
             (("size", BEAUTY_SIZES),), (6.0, 35.0)),
            ("Face Mask", "face mask", "Skin Care › Face › Masks", (("size", PACKS), ("scent", SCENTS)), (5.0, 32.0)),
        ),
    ),
    "food": (
        "Grocery & Gourmet Food",
        ("gluten free", "non gmo", "low carb", "sugar free", "keto friendly", "high protein", "plant based",
         "ready eat", "resealable bag", "individually wrapped", "usda organic", "dairy free", "low calorie",
         "kosher certified", "whole grain", "natural flavors", "no artificial", "great gift", "shelf stable",
         "grass fed", "caffeine free", "high fiber", "soy free", "nut free", "low sodium", "fair trade",
         "small batch", "family size", "on the go", "easy prepare"),
        (
            ("Protein Bar", "protein bars", "Snack Foods › Bars › Protein Bars",
             (("flavor", FLAVORS), ("size", FOOD_SIZES)), (8.0, 45.0)),
            ("Coffee Beans", "whole bean coffee", "Beverages › Coffee, Tea & Cocoa › Coffee › Whole Coffee Beans",
             (("flavor", FLAVORS), ("size", FOOD_SIZES)), (9.0, 49.0)),
            ("Green Tea", "green tea", "Beverages › Coffee, Tea & Cocoa › Tea › Green",
             (("size", FOOD_SIZES),), (4.0, 29.0)),
            ("Trail Mix", "trail mix", "Snack Foods › Trail Mix", (("flavor", FLAVORS), ("size", FOOD_SIZES)), (5.0, 32.0)),
            ("Dark Chocolate", "dark chocolate", "Candy & Chocolate › Chocolate › Chocolate Bars",
             (("size", FOOD_SIZES),), (4.0, 36.0)),
            ("Beef Jerky", "beef jerky", "Meat & Seafood › Jerky & Dried Meats › Beef",
             (("flavor", FLAVORS), ("size", FOOD_SIZES)), (7.0, 42.0)),
            ("Pasta", "pasta", "Pantry Staples › Pasta & Noodles › Pasta", (("size", FOOD_SIZES),), (3.0, 25.0)),
            ("Olive Oil", "olive oil", "Pantry Staples › Cooking & Baking › Oils › Olive",
             (("size", FOOD_SIZES),), (8.0, 55.0)),
            ("Granola", "granola", "Breakfast Foods › Cereals › Granola", (("flavor", FLAVORS), ("size", FOOD_SIZES)), (4.0, 28.0)),
            ("Honey", "honey", "Pantry Staples › Jams, Jellies & Sweet Spreads › Honey",
             (("size", FOOD_SIZES),), (6.0, 38.0)),
            ("Potato Chips", "potato chips", "Snack Foods › Chips & Crisps › Potato",
             (("flavor", FLAVORS), ("size", FOOD_SIZES)), (3.0, 26.0)),
            ("Gummy Candy", "gummy candy", "Candy & Chocolate › Gummy Candies", (("flavor", FLAVORS), ("size", FOOD_SIZES)), (3.0, 24.0)),
        ),
    ),
    "fashion": (
        "Clothing, Shoes & Jewelry",
        ("machine wash", "slim fit", "button closure", "long sleeve", "short sleeve", "elastic waist",
         "daily wear", "soft material", "quality materials", "rubber sole", "polyester spandex",
         "classic fit", "relaxed fit", "high waist", "hand wash", "cotton blend", "moisture wicking",
         "non slip", "lace up", "pull on", "zipper closure", "stretch fabric", "breathable fabric",
         "winter warm", "summer casual", "wide leg", "regular fit", "faux fur", "drawstring closure",
         "four way stretch"),
        (
            ("T-Shirt", "men's t-shirts", "Men › Clothing › Shirts › T-Shirts",
             (("color", COLORS), ("size", APPAREL_SIZES)), (7.0, 35.0)),
            ("Jumpsuit", "women's jumpsuits, rompers & overalls", "Women › Clothing › Jumpsuits, Rompers & Overalls",
             (("color", COLORS), ("size", APPAREL_SIZES)), (14.0, 59.0)),
            ("Running Shoes", "running shoes", "Men › Shoes › Athletic › Running",
             (("color", COLORS), ("size", SHOE_SIZES)), (25.0, 129.0)),
            ("Hoodie", "hoodies", "Women › Clothing › Fashion Hoodies & Sweatshirts",
             (("color", COLORS), ("size", APPAREL_SIZES)), (15.0, 69.0)),
            ("Yoga Pants", "yoga pants", "Women › Clothing › Active › Active Pants › Yoga",
             (("color", COLORS), ("size", APPAREL_SIZES)), (12.0, 49.0)),
            ("Dress", "dresses", "Women › Clothing › Dresses › Casual", (("color", COLORS), ("size", APPAREL_SIZES)), (16.0, 79.0)),
            ("Jeans", "jeans", "Men › Clothing › Jeans", (("color", COLORS), ("size", APPAREL_SIZES)), (18.0, 89.0)),
            ("Sandals", "sandals", "Women › Shoes › Sandals › Flat", (("color", COLORS), ("size", SHOE_SIZES)), (12.0, 65.0)),
            ("Winter Jacket", "winter jackets", "Men › Clothing › Jackets & Coats › Down & Down Alternative",
             (("color", COLORS), ("size", APPAREL_SIZES)), (35.0, 199.0)),
            ("Socks", "socks", "Men › Clothing › Socks › Athletic Socks", (("color", COLORS), ("size", PACKS)), (6.0, 29.0)),
            ("Baseball Cap", "baseball caps", "Men › Accessories › Hats & Caps › Baseball Caps",
             (("color", COLORS),), (8.0, 32.0)),
            ("Pajama Set", "pajama sets", "Women › Clothing › Lingerie, Sleep & Lounge › Sleep & Lounge › Sets",
             (("color", COLORS), ("size", APPAREL_SIZES)), (14.0, 55.0)),
        ),
    ),
    "furniture": (
        "Home & Kitchen",
        ("easy assemble", "solid wood", "living room", "storage space", "space saving", "easy clean",
         "metal frame", "engineered wood", "mid century", "steel frame", "non slip", "high density",
         "memory foam", "assembly required", "dining room", "home office", "heavy duty", "contemporary style",
         "wood finish", "pu leather", "lumbar support", "height adjustable", "bedroom furniture",
         "wall mounted", "tempered glass", "water resistant", "easy install", "scratch resistant",
         "white item", "long lasting"),
        (
            ("Console Table", "console tables", "Furniture › Living Room Furniture › Tables › Sofa & Console Tables",
             (("color", COLORS), ("size", FURNITURE_SIZES)), (45.0, 299.0)),
            ("Office Chair", "office chairs", "Furniture › Home Office Furniture › Home Office Chairs › Desk Chairs",
             (("color", COLORS), ("style", STYLES_FURN)), (59.0, 349.0)),
            ("Bookshelf", "bookshelves", "Furniture › Living Room Furniture › Bookcases",
             (("color", COLORS), ("size", FURNITURE_SIZES)), (39.0, 259.0)),
            ("Coffee Table", "coffee tables", "Furniture › Living Room Furniture › Tables › Coffee Tables",
             (("color", COLORS), ("style", STYLES_FURN)), (49.0, 329.0)),
            ("Bed Frame", "bed frames", "Furniture › Bedroom Furniture › Beds, Frames & Bases › Beds",
             (("color", COLORS), ("size", BEDDING_SIZES)), (89.0, 599.0)),
            ("Nightstand", "nightstands", "Furniture › Bedroom Furniture › Nightstands",
             (("color", COLORS),), (35.0, 189.0)),
            ("Bar Stool", "bar stools", "Furniture › Kitchen & Dining Room Furniture › Stools › Barstools",
             (("color", COLORS), ("size", FURNITURE_SIZES)), (39.0, 229.0)),
            ("TV Stand", "tv stands", "Furniture › Living Room Furniture › TV & Media Furniture › Television Stands",
             (("color", COLORS), ("size", FURNITURE_SIZES)), (59.0, 399.0)),
            ("Computer Desk", "computer desks", "Furniture › Home Office Furniture › Home Office Desks",
             (("color", COLORS), ("size", FURNITURE_SIZES)), (55.0, 349.0)),
            ("Accent Chair", "accent chairs", "Furniture › Living Room Furniture › Chairs › Accent Chairs",
             (("color", COLORS), ("style", STYLES_FURN)), (79.0, 459.0)),
            ("Shoe Rack", "shoe racks", "Storage & Organization › Clothing & Closet Storage › Shoe Organizers",
             (("color", COLORS), ("size", FURNITURE_SIZES)), (19.0, 119.0)),
            ("Dining Table", "dining tables", "Furniture › Kitchen & Dining Room Furniture › Tables",
             (("color", COLORS), ("size", FURNITURE_SIZES)), (99.0, 899.0)),
        ),
    ),
    "electronics": (
        "Electronics",
        ("high definition", "easy use", "fast charging", "noise cancelling", "batteries included",
         "usb port", "plug play", "high speed", "long battery life", "wireless bluetooth", "water resistant",
         "stereo sound", "quad core", "hands free", "high performance", "dual band", "aluminum alloy",
         "light weight", "easy install", "touch screen", "built in microphone", "carrying case",
         "power delivery", "heavy duty", "4k ultra hd", "low latency", "auto focus", "energy efficient",
         "shockproof case", "voice control"),
        (
            ("Wireless Earbuds", "wireless earbuds", "Headphones › Earbud Headphones",
             (("color", COLORS), ("style", STYLES_ELEC)), (15.0, 199.0)),
            ("Bluetooth Speaker", "bluetooth speakers", "Portable Audio & Video › Portable Speakers & Docks › Portable Bluetooth Speakers",
             (("color", COLORS),), (19.0, 179.0)),
            ("USB C Cable", "usb c cables", "Computers & Accessories › Computer Accessories & Peripherals › Cables & Accessories › Cables › USB Cables",
             (("color", COLORS), ("size", CABLE_LENGTHS)), (5.0, 25.0)),
            ("Power Bank", "portable chargers", "Cell Phones & Accessories › Accessories › Chargers & Power Adapters › Portable Power Banks",
             (("color", COLORS),), (14.0, 79.0)),
            ("Memory Card", "micro sd cards", "Computers & Accessories › Computer Accessories & Peripherals › Memory Cards › Micro SD Cards",
             (("size", STORAGE),), (6.0, 89.0)),
            ("Security Camera", "security cameras", "Camera & Photo › Video Surveillance › Surveillance Cameras › Dome Cameras",
             (("style", STYLES_ELEC), ("size", PACKS)), (25.0, 249.0)),
            ("Phone Case", "phone cases", "Cell Phones & Accessories › Cases, Holsters & Sleeves › Basic Cases",
             (("color", COLORS),), (6.0, 35.0)),
            ("Gaming Mouse", "gaming mouse", "Computers & Accessories › Computer Accessories & Peripherals › Keyboards, Mice & Accessories › Mice",
             (("color", COLORS),), (12.0, 89.0)),
            ("Smart Watch", "smart watches", "Wearable Technology › Smartwatches", (("color", COLORS), ("style", STYLES_ELEC)), (29.0, 299.0)),
            ("HDMI Cable", "hdmi cables", "Accessories & Supplies › Audio & Video Accessories › Cables & Interconnects › Video Cables › HDMI Cables",
             (("size", CABLE_LENGTHS), ("style", PACKS)), (6.0, 39.0)),
            ("Tablet Stand", "tablet stands", "Computers & Accessories › Tablet Accessories › Stands",
             (("color", COLORS),), (9.0, 59.0)),
            ("Wireless Keyboard", "wireless keyboards", "Computers & Accessories › Computer Accessories & Peripherals › Keyboards, Mice & Accessories › Keyboards",
             (("color", COLORS), ("style", STYLES_ELEC)), (18.0, 129.0)),
        ),
    ),
}

BRAND_SYLLABLES = ("lu", "mo", "ra", "ve", "ko", "zi", "ta", "ne", "so", "pa", "ri", "do", "ka", "mi", "vo",
                   "el", "an", "or", "ix", "qu", "be", "ly", "sa", "to", "ca", "no", "fi", "ge", "hu", "ja")
DESCRIPTORS = ("Premium", "Classic", "Modern", "Deluxe", "Everyday", "Essential", "Original", "Signature",
               "Ultra", "Compact", "Professional", "Vintage", "Lightweight", "Upgraded", "Advanced")
OPENERS_HUMAN = ("i am looking for", "i need", "i want", "i'm looking for", "find me", "i would like",
                 "looking for", "i want to buy", "get me", "search for")
OPENERS_SYNTHETIC = ("Find me", "I am looking for", "Buy me", "Get me")
DESCRIPTION_TEMPLATES = (
    "This {type} from {brand} is designed for {use}. It is {a1} and {a2}, made to last.",
    "Meet the {brand} {type}: {a1}, {a2} and ready for {use}.",
    "{brand} brings you a {type} that is {a1}. Perfect for {use}, with {a2} for peace of mind.",
    "Upgrade your routine with this {a1} {type}. {brand} quality, {a2}, great for {use}.",
)
USES = {
    "beauty": ("everyday beauty care", "travel and the gym", "a spa day at home", "gifting"),
    "food": ("snacking at work", "family meals", "parties and gifting", "a healthy breakfast"),
    "fashion": ("casual outings", "work and weekends", "workouts and travel", "everyday comfort"),
    "furniture": ("small apartments", "the living room", "a home office", "bedrooms and guest rooms"),
    "electronics": ("work and travel", "gaming and streaming", "home and office", "outdoor adventures"),
}
BULLET_TEMPLATES = (
    "{A}: {detail}",
    "{A} - {detail}",
    "{A_up} DESIGN: {detail}",
)
DETAILS = ("crafted with care and tested for quality", "backed by a 30 day money back guarantee",
           "a thoughtful choice for friends and family", "simple to use right out of the box",
           "designed to keep its look after many uses", "a reliable pick at a fair price",
           "made with attention to every detail", "loved by thousands of happy customers")
