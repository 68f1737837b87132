import httpx


def test_load_test_user_then_transaction(api: httpx.Client) -> None:
    made = api.post("/api/testing/load-test-user")
    assert made.status_code == 201, made.text
    print(made.json(), made.headers)
