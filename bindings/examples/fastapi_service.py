"""A small FastAPI service over a dictdb_rs database: a book catalogue.

- CRUD endpoints on /books (create, read, list, partial update, delete) plus
  an all-or-nothing bulk import and a statistics endpoint (aggregate).
- Query parameters map onto ``select``: filters build the ``where``
  predicate (And of the given conditions), ``order_by`` (``-year`` for
  descending), ``limit`` and ``offset``.
- DictDB errors map onto HTTP statuses: RecordNotFoundError -> 404,
  DuplicateKeyError -> 409, SchemaValidationError -> 422.

``python fastapi_service.py`` runs ``demo()``, which exercises the service
through FastAPI's TestClient (no server, no network). ``python
fastapi_service.py --serve`` starts a real server with uvicorn
(``pip install uvicorn``) on 127.0.0.1:8000.

Needs: fastapi, httpx (for TestClient).
"""

import sys
from typing import Any, Optional

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

import dictdb_rs as dictdb
from dictdb_rs import And, Avg, Count, Max

SORTABLE = {"id", "title", "author", "year", "rating"}


class BookIn(BaseModel):
    id: Optional[int] = None  # None: the database assigns one
    title: str
    author: str
    year: int
    tags: list[str] = []
    rating: Optional[float] = None


class BookPatch(BaseModel):
    title: Optional[str] = None
    author: Optional[str] = None
    year: Optional[int] = None
    tags: Optional[list[str]] = None
    rating: Optional[float] = None


def make_db():
    db = dictdb.DictDB()
    db.create_table(
        "books",
        schema={"id": int, "title": str, "author": str, "year": int, "tags": list,
                "rating": Optional[float]},
    )
    books = db.get_table("books")
    books.create_index("author")           # equality filters
    books.create_index("year", "sorted")   # range filters and ordering
    return db


def create_app(db=None):
    db = db if db is not None else make_db()
    books = db.get_table("books")
    app = FastAPI(title="Book catalogue (dictdb_rs)")
    app.state.db = db

    def error(status):
        async def handler(request: Request, exc: Exception):
            return JSONResponse(status_code=status,
                                content={"detail": str(exc), "error": type(exc).__name__})
        return handler

    app.add_exception_handler(dictdb.RecordNotFoundError, error(404))
    app.add_exception_handler(dictdb.DuplicateKeyError, error(409))
    app.add_exception_handler(dictdb.SchemaValidationError, error(422))

    def book_or_404(book_id):
        row = books.get(book_id)
        if row is None:
            raise dictdb.RecordNotFoundError(f"no book with id {book_id} in 'books'")
        return row

    @app.post("/books", status_code=201)
    def create_book(book: BookIn):
        pk = books.insert(book.model_dump())
        return books.get(pk)

    @app.post("/books/bulk", status_code=201)
    def import_books(rows: list[dict[str, Any]]):
        # No pydantic model here: the table's schema is the validation, and
        # the bulk insert is all or nothing.
        return {"ids": books.insert(rows)}

    @app.get("/books")
    def list_books(
        author: Optional[str] = None,
        title_like: Optional[str] = None,
        tag: Optional[str] = None,
        min_year: Optional[int] = None,
        max_year: Optional[int] = None,
        order_by: str = "id",
        limit: int = Query(20, ge=1, le=100),
        offset: int = Query(0, ge=0),
    ):
        if order_by.lstrip("-") not in SORTABLE:
            raise HTTPException(422, f"cannot order by {order_by!r}; "
                                     f"use one of {sorted(SORTABLE)}, '-' for descending")
        conditions = []
        if author is not None:
            conditions.append(books.author == author)
        if title_like is not None:
            conditions.append(books.title.ilike(title_like))
        if tag is not None:
            conditions.append(books.tags.contains(tag))
        if min_year is not None:
            conditions.append(books.year >= min_year)
        if max_year is not None:
            conditions.append(books.year <= max_year)
        where = (None if not conditions else conditions[0] if len(conditions) == 1
                 else And(*conditions))
        return books.select(where=where, order_by=order_by, limit=limit, offset=offset)

    @app.get("/books/{book_id}")
    def read_book(book_id: int):
        return book_or_404(book_id)

    @app.patch("/books/{book_id}")
    def update_book(book_id: int, patch: BookPatch):
        changes = patch.model_dump(exclude_unset=True)
        if changes:
            books.update(changes, where=books.id == book_id)  # 404 when no such book
        return book_or_404(book_id)

    @app.delete("/books/{book_id}", status_code=204)
    def delete_book(book_id: int):
        books.delete(where=books.id == book_id)  # RecordNotFoundError -> 404

    @app.get("/stats/authors")
    def author_stats():
        stats = books.aggregate(group_by="author", books=Count(),
                                avg_rating=Avg("rating"), latest=Max("year"))
        for row in stats:
            if row["avg_rating"] is not None:
                row["avg_rating"] = round(row["avg_rating"], 2)
        return stats

    return app


def demo():
    from fastapi.testclient import TestClient

    client = TestClient(create_app())

    print("== create")
    seed = [
        {"title": "Dune", "author": "Frank Herbert", "year": 1965,
         "tags": ["sf", "classic"], "rating": 4.6},
        {"title": "Dune Messiah", "author": "Frank Herbert", "year": 1969, "tags": ["sf"]},
        {"title": "The Left Hand of Darkness", "author": "Ursula K. Le Guin",
         "year": 1969, "tags": ["sf", "classic"], "rating": 4.4},
        {"title": "A Wizard of Earthsea", "author": "Ursula K. Le Guin", "year": 1968,
         "tags": ["fantasy"], "rating": 4.3},
        {"title": "Neuromancer", "author": "William Gibson", "year": 1984,
         "tags": ["sf", "cyberpunk"], "rating": 4.1},
    ]
    ids = []
    for book in seed:
        r = client.post("/books", json=book)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    print(f"POST /books x{len(ids)} -> ids {ids}")
    assert ids == [1, 2, 3, 4, 5]
    assert client.get("/books/2").json()["rating"] is None

    r = client.post("/books", json={"id": 1, "title": "Copy", "author": "X", "year": 2000})
    print(f"POST /books with a taken id -> {r.status_code} {r.json()['detail']}")
    assert r.status_code == 409 and r.json()["error"] == "DuplicateKeyError"

    r = client.post("/books", json={"title": "No author", "year": "soon"})
    print(f"POST /books with a bad body -> {r.status_code} (pydantic)")
    assert r.status_code == 422

    print("== bulk import (schema-checked, all or nothing)")
    r = client.post("/books/bulk", json=[
        {"title": "Count Zero", "author": "William Gibson", "year": 1986, "tags": ["sf"],
         "rating": None},
        {"title": "Bad row", "author": "Nobody", "year": "1990", "tags": [],
         "rating": None},
    ])
    print(f"POST /books/bulk with a str year -> {r.status_code} {r.json()['detail']}")
    assert r.status_code == 422 and r.json()["error"] == "SchemaValidationError"
    assert len(client.get("/books").json()) == 5  # nothing was imported
    r = client.post("/books/bulk", json=[
        {"title": "Count Zero", "author": "William Gibson", "year": 1986, "tags": ["sf"],
         "rating": None},
        {"title": "The Dispossessed", "author": "Ursula K. Le Guin", "year": 1974,
         "tags": ["sf"], "rating": 4.5},
    ])
    assert r.status_code == 201 and r.json() == {"ids": [6, 7]}, r.text
    print(f"POST /books/bulk -> {r.json()}")

    print("== query")
    r = client.get("/books", params={"author": "Ursula K. Le Guin", "order_by": "year"})
    titles = [b["title"] for b in r.json()]
    print(f"GET /books?author=...&order_by=year -> {titles}")
    assert titles == ["A Wizard of Earthsea", "The Left Hand of Darkness",
                      "The Dispossessed"]

    r = client.get("/books", params={"tag": "sf", "min_year": 1966, "max_year": 1980,
                                     "order_by": "-year"})
    titles = [b["title"] for b in r.json()]
    print(f"GET /books?tag=sf&min_year=1966&max_year=1980&order_by=-year -> {titles}")
    assert titles == ["The Dispossessed", "Dune Messiah", "The Left Hand of Darkness"]

    r = client.get("/books", params={"title_like": "dune%"})
    assert [b["id"] for b in r.json()] == [1, 2]

    page = client.get("/books", params={"order_by": "title", "limit": 3, "offset": 3}).json()
    print(f"GET /books?order_by=title&limit=3&offset=3 -> {[b['title'] for b in page]}")
    assert [b["title"] for b in page] == ["Dune Messiah", "Neuromancer",
                                          "The Dispossessed"]

    r = client.get("/books", params={"order_by": "price"})
    print(f"GET /books?order_by=price -> {r.status_code}")
    assert r.status_code == 422
    assert client.get("/books", params={"limit": 0}).status_code == 422

    print("== update / delete")
    r = client.patch("/books/2", json={"rating": 3.9, "tags": ["sf", "sequel"]})
    assert r.status_code == 200 and r.json()["rating"] == 3.9, r.text
    assert r.json()["title"] == "Dune Messiah"  # fields not sent are kept
    print(f"PATCH /books/2 -> {r.json()}")
    r = client.patch("/books/99", json={"rating": 1.0})
    print(f"PATCH /books/99 -> {r.status_code} {r.json()['detail']}")
    assert r.status_code == 404 and r.json()["error"] == "RecordNotFoundError"

    assert client.delete("/books/5").status_code == 204
    r = client.delete("/books/5")
    print(f"DELETE /books/5 twice -> 204 then {r.status_code}")
    assert r.status_code == 404
    assert client.get("/books/5").status_code == 404

    print("== stats")
    stats = client.get("/stats/authors").json()
    print(f"GET /stats/authors -> {stats}")
    assert stats == [
        {"author": "Frank Herbert", "books": 2, "avg_rating": 4.25, "latest": 1969},
        {"author": "Ursula K. Le Guin", "books": 3, "avg_rating": 4.4, "latest": 1974},
        {"author": "William Gibson", "books": 1, "avg_rating": None, "latest": 1986},
    ]
    print("fastapi service OK")


if __name__ == "__main__":
    if "--serve" in sys.argv[1:]:
        import uvicorn  # type: ignore[import-not-found,unused-ignore]  # only to serve

        uvicorn.run(create_app(), host="127.0.0.1", port=8000)
    else:
        demo()
