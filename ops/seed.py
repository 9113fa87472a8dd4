"""A realistic data set for trying the API: products from a pantry list and recipes that use
them, the same on every machine (a fixed random seed)."""

import random

import psycopg2
import psycopg2.extras

PANTRY = [
    ("Flour", "g"), ("Wholemeal flour", "g"), ("Rye flour", "g"), ("Semolina", "g"), ("Cornmeal", "g"),
    ("Rice", "g"), ("Arborio rice", "g"), ("Oats", "g"), ("Quinoa", "g"), ("Couscous", "g"),
    ("Spaghetti", "g"), ("Penne", "g"), ("Egg noodles", "g"), ("Water", "ml"), ("Milk", "ml"),
    ("Cream", "ml"), ("Buttermilk", "ml"), ("Yogurt", "g"), ("Butter", "g"), ("Olive oil", "ml"),
    ("Sunflower oil", "ml"), ("Eggs", "pcs"), ("Sugar", "g"), ("Brown sugar", "g"), ("Honey", "g"),
    ("Maple syrup", "ml"), ("Salt", "g"), ("Black pepper", "g"), ("Yeast", "g"), ("Baking powder", "g"),
    ("Baking soda", "g"), ("Cocoa powder", "g"), ("Dark chocolate", "g"), ("Vanilla extract", "ml"),
    ("Cinnamon", "g"), ("Nutmeg", "g"), ("Cumin", "g"), ("Paprika", "g"), ("Chili flakes", "g"),
    ("Turmeric", "g"), ("Garlic", "cloves"), ("Onion", "pcs"), ("Red onion", "pcs"), ("Shallot", "pcs"),
    ("Carrot", "pcs"), ("Celery", "stalks"), ("Potato", "g"), ("Sweet potato", "g"), ("Tomato", "pcs"),
    ("Canned tomatoes", "g"), ("Tomato paste", "g"), ("Spinach", "g"), ("Kale", "g"), ("Mushrooms", "g"),
    ("Zucchini", "pcs"), ("Bell pepper", "pcs"), ("Lemon", "pcs"), ("Lime", "pcs"), ("Apple", "pcs"),
    ("Banana", "pcs"), ("Blueberries", "g"), ("Chickpeas", "g"), ("Lentils", "g"), ("Black beans", "g"),
    ("Parmesan", "g"), ("Mozzarella", "g"), ("Feta", "g"), ("Chicken thighs", "g"), ("Beef mince", "g"),
    ("Salmon fillet", "g"), ("Tofu", "g"), ("Basil", "g"), ("Parsley", "g"), ("Coriander", "g"),
    ("Thyme", "g"), ("Rosemary", "g"), ("Soy sauce", "ml"), ("Vinegar", "ml"), ("Stock", "ml"), ("Ginger", "g"),
]
STYLES = ["Rustic", "Quick", "Spiced", "Creamy", "Roasted", "Grandma's", "Weeknight", "Smoky", "Lemony",
          "Herby", "Crispy", "Slow-cooked", "One-pot", "Summer", "Winter", "Golden"]
DISHES = ["bread", "soup", "stew", "risotto", "pasta", "salad", "curry", "pie", "pancakes", "muffins",
          "casserole", "flatbread", "porridge", "gratin", "tart", "chili", "noodles", "bake", "frittata", "cake"]
STEPS = ["Prepare the ingredients.", "Combine the dry ingredients.", "Add the wet ingredients and mix.",
         "Cook gently, stirring now and then.", "Season to taste.", "Bake until golden.", "Rest before serving.",
         "Garnish with herbs.", "Serve warm."]


def seed(database_url: str, recipes: int = 200, rng_seed: int = 7) -> dict:
    rng = random.Random(rng_seed)
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        psycopg2.extras.execute_values(
            cursor, "INSERT INTO products (name, unit, description) VALUES %s ON CONFLICT DO NOTHING",
            [(name, unit, f"{name} from the pantry") for name, unit in PANTRY])
        cursor.execute("SELECT id, unit FROM products ORDER BY id")
        products = cursor.fetchall()
        created = 0
        for number in range(recipes):
            title = f"{rng.choice(STYLES)} {rng.choice(DISHES)} #{number + 1}"
            steps = " ".join(rng.sample(STEPS, rng.randint(3, 6)))
            cursor.execute("INSERT INTO recipes (title, instructions, servings) VALUES (%s, %s, %s) RETURNING id",
                           (title, steps, rng.randint(1, 8)))
            recipe_id = cursor.fetchone()[0]
            chosen = rng.sample(products, rng.randint(3, 8))
            psycopg2.extras.execute_values(
                cursor, "INSERT INTO recipe_items (recipe_id, product_id, quantity, unit) VALUES %s",
                [(recipe_id, product_id, round(rng.uniform(0.5, 500), 1), unit) for product_id, unit in chosen])
            created += 1
        cursor.execute("SELECT count(*) FROM products")
        product_count = cursor.fetchone()[0]
    return {"products": product_count, "recipes_created": created}
