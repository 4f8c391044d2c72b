"""A contact book on dictdb_rs, written as a DictDB user writes it.

Creates a table, inserts contacts, searches them with the query DSL
(like / startswith / is_in, And / Or), updates and deletes, adds indexes,
then saves the book to JSON and loads it back.

Run: python contact_book.py
"""

import os
import tempfile

import dictdb_rs as dictdb
from dictdb_rs import And, Or


def names(rows):
    return [row["name"] for row in rows]


def main():
    db = dictdb.DictDB()
    db.create_table("contacts")  # primary key "id", assigned automatically
    contacts = db.get_table("contacts")

    print("== insert")
    first = contacts.insert(
        {"name": "Alice Martin", "email": "alice@example.com", "city": "Paris",
         "phone": "+33 1 23 45 67 89", "tags": ["work", "climbing"]}
    )
    assert first == 1
    more = contacts.insert([
        {"name": "Bob Stone", "email": "bob@example.org", "city": "London",
         "phone": "+44 20 7946 0000", "tags": ["family"]},
        {"name": "Carla Diaz", "email": "carla@example.com", "city": "Madrid",
         "phone": "+34 91 123 4567", "tags": ["work"]},
        {"name": "David Martin", "email": "david@mail.example.net", "city": "Paris",
         "phone": "+33 6 11 22 33 44", "tags": []},
        {"name": "Eve Adams", "email": "eve@example.com", "city": "Berlin",
         "phone": "+49 30 1234567", "tags": ["climbing"]},
    ])
    assert more == [2, 3, 4, 5]
    print(f"inserted {contacts.count()} contacts, ids {[first] + more}")

    # An explicit id that is already taken is refused.
    try:
        contacts.insert({"id": 2, "name": "Bob again"})
    except dictdb.DuplicateKeyError as exc:
        print(f"duplicate refused: {exc}")
    else:
        raise AssertionError("expected DuplicateKeyError")

    print("== search")
    martins = contacts.select(where=contacts.name.like("% Martin"))
    print("like '% Martin':", names(martins))
    assert names(martins) == ["Alice Martin", "David Martin"]

    starts = contacts.select(where=contacts.name.startswith(("A", "E")), order_by="name")
    print("startswith A or E:", names(starts))
    assert names(starts) == ["Alice Martin", "Eve Adams"]

    in_cities = contacts.select(
        ["name", "city"], where=contacts.city.is_in(["Madrid", "Berlin"]), order_by="-name"
    )
    print("in Madrid/Berlin:", in_cities)
    assert in_cities == [{"name": "Eve Adams", "city": "Berlin"},
                         {"name": "Carla Diaz", "city": "Madrid"}]

    # Work contacts in Paris, or anyone with an example.com address who climbs.
    query = Or(
        And(contacts.city == "Paris", contacts.tags.contains("work")),
        And(contacts.email.endswith("@example.com"), contacts.tags.contains("climbing")),
    )
    found = contacts.select(where=query)
    print("Or(And(...), And(...)):", names(found))
    assert names(found) == ["Alice Martin", "Eve Adams"]

    # Operators compose too; a case-insensitive search for the user's input.
    typed = "MARTIN"
    found = contacts.select(where=contacts.name.icontains(typed) & (contacts.city != "London"))
    assert names(found) == ["Alice Martin", "David Martin"]

    # Paging through the book in alphabetical order.
    page1 = contacts.select(["name"], order_by="name", limit=2)
    page2 = contacts.select(["name"], order_by="name", limit=2, offset=2)
    print("page 1:", page1, "page 2:", page2)
    assert names(page1 + page2) == ["Alice Martin", "Bob Stone", "Carla Diaz", "David Martin"]

    print("== update")
    n = contacts.update({"city": "Lyon", "phone": "+33 4 00 00 00 00"},
                        where=contacts.name == "David Martin")
    assert n == 1
    assert contacts.get(4)["city"] == "Lyon"
    # Everyone with an example.com address is subscribed to the newsletter.
    n = contacts.update({"newsletter": True}, where=contacts.email.like("%@example.com"))
    print(f"updated {n} contacts for the newsletter")
    assert n == 3
    try:
        contacts.update({"city": "Rome"}, where=contacts.name == "Nobody")
    except dictdb.RecordNotFoundError as exc:
        print(f"update of a missing contact: {exc}")
    else:
        raise AssertionError("expected RecordNotFoundError")

    # upsert: update when the id exists, insert otherwise.
    assert contacts.upsert({"id": 3, "phone": "+34 600 000 000"}) == (3, "updated")
    assert contacts.get(3)["name"] == "Carla Diaz"  # other fields kept
    pk, action = contacts.upsert({"name": "Frank Ocean", "email": "frank@example.org",
                                  "city": "London", "tags": []})
    print(f"upsert -> {pk} {action}")
    assert (pk, action) == (6, "inserted")

    print("== delete")
    assert contacts.delete(where=contacts.name == "Bob Stone") == 1
    assert contacts.get(2) is None
    assert contacts.count() == 5

    print("== indexes")
    contacts.create_index("city")                 # hash: equality and is_in
    contacts.create_index("name", "sorted")       # sorted: ranges and prefix LIKE
    print("indexed fields:", contacts.indexed_fields())
    assert contacts.indexed_fields() == ["city", "name"]
    assert sorted(contacts.indexes["city"].index["Paris"]) == [1]
    assert contacts.indexes["name"].search("Eve Adams") == {5}
    # The same queries give the same answers with the indexes in place.
    assert names(contacts.select(where=contacts.city.is_in(["Paris", "Lyon"]))) == [
        "Alice Martin", "David Martin"]
    assert names(contacts.select(where=contacts.name.like("C%"))) == ["Carla Diaz"]
    assert names(contacts.select(where=contacts.name.between("B", "E"))) == [
        "Carla Diaz", "David Martin"]

    print("== save / load JSON")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "contacts.json")
        db.save(path, "json")
        print(f"saved to {os.path.basename(path)} ({os.path.getsize(path)} bytes)")
        loaded = dictdb.DictDB.load(path, "json")
        book = loaded.get_table("contacts")
        assert loaded.list_tables() == ["contacts"]
        assert book.all() == contacts.all()
        assert book.indexed_fields() == ["city", "name"]
        # The id counter survives the round trip: the next contact gets id 7.
        assert book.insert({"name": "Grace Hopper", "city": "New York"}) == 7
        assert names(book.select(where=book.city == "Paris")) == ["Alice Martin"]
        print(f"loaded {book.count()} contacts back (one added after loading)")

    print("contact book OK")


if __name__ == "__main__":
    main()
