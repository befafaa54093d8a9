"""The seeds' Locust user classes (ScalingSystemUser, HighVolumeUser, AdminUser) and the
seed-002 endpoint families, pointed at `surge serve`. Used by test_locust.py: an independent
client that must see no failure except the ones an endpoint is asked to produce."""

import random

from locust import HttpUser, between, task


class ScalingSystemUser(HttpUser):
    """Normal behaviour: user CRUD, health checks, cached reads (seed 001)."""
    weight = 3
    wait_time = between(0.1, 0.5)

    def on_start(self):
        r = self.client.post("/api/users", json={"name": "locust", "email": "l@example.com"},
                             name="/api/users [create]")
        self.user_id = r.json().get("id") if r.ok else None

    @task(3)
    def read_user(self):
        if self.user_id:
            self.client.get(f"/api/users/{self.user_id}", name="/api/users/{id}")

    @task(1)
    def update_user(self):
        if self.user_id:
            self.client.put(f"/api/users/{self.user_id}",
                            json={"name": f"locust-{random.randint(1, 999)}",
                                  "email": "l@example.com"},
                            name="/api/users/{id} [update]")

    @task(2)
    def health(self):
        self.client.get("/health")
        self.client.get("/ready")

    @task(1)
    def create_and_list_tasks(self):
        self.client.post("/api/tasks", json={"title": "from locust"})
        self.client.get("/api/tasks?limit=10")


class HighVolumeUser(HttpUser):
    """Rapid reads (seed 001), and the CPU and I/O families (seed 002)."""
    weight = 2
    wait_time = between(0.1, 0.5)

    @task(3)
    def cpu(self):
        self.client.get("/api/cpu-intensive?complexity=20")
        self.client.get("/api/hash?iterations=1000")
        self.client.get("/api/json-processing?size=100")
        self.client.get("/api/cpu?ms=2")

    @task(2)
    def io(self):
        self.client.get("/api/slow?delay=0.05")
        self.client.get("/api/random-delay?min=0.01&max=0.1")
        self.client.get("/api/parallel-io?count=5&delay=0.02")

    @task(1)
    def downstream(self):
        self.client.get("/api/call-downstream?timeout=5&endpoint=slow&delay=0.05")
        self.client.get("/api/no-timeout?delay=0.05")

    @task(1)
    def asked_to_fail(self):
        # failures on request: counted as successes when they are exactly what was asked
        with self.client.get("/api/status/503", name="/api/status/{code}",
                             catch_response=True) as r:
            if r.status_code == 503:
                r.success()
        with self.client.get("/api/cascade-failure?failure_rate=1&sequential=1&parallel=0",
                             catch_response=True) as r:
            if r.status_code == 502:
                r.success()


class AdminUser(HttpUser):
    """Administrative flows: bulk create and bulk read, database and memory (seeds 001, 002)."""
    weight = 1
    wait_time = between(0.5, 1.0)

    @task(2)
    def bulk(self):
        users = [{"name": f"bulk-{i}", "email": f"b{i}@example.com"} for i in range(5)]
        r = self.client.post("/api/users/bulk", json=users)
        if r.ok:
            ids = ",".join(str(u["id"]) for u in r.json().get("users", []))
            if ids:
                self.client.get(f"/api/users?ids={ids}", name="/api/users?ids=")

    @task(1)
    def database(self):
        self.client.get("/api/expensive-query?iterations=50")
        self.client.get("/api/tasks?limit=5")

    @task(1)
    def memory(self):
        self.client.get("/api/memory-spike?size_mb=2")
        self.client.get("/api/memory-leak?size_mb=1")
        self.client.post("/api/clear-memory")

    @task(1)
    def metrics(self):
        self.client.get("/metrics")
