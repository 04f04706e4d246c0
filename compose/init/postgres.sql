-- Sample data for the compose playground.
CREATE SCHEMA IF NOT EXISTS shop;
CREATE TABLE shop.customers (
  id bigserial PRIMARY KEY,
  email text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE shop.orders (
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES shop.customers(id),
  amount numeric(12,2) NOT NULL,
  status text NOT NULL DEFAULT 'new',
  placed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO shop.customers (email)
  SELECT 'customer' || g || '@example.com' FROM generate_series(1, 100) g;
INSERT INTO shop.orders (customer_id, amount)
  SELECT 1 + g % 100, (g % 1000) / 10.0 FROM generate_series(1, 1000) g;
