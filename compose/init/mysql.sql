-- Sample data for the compose playground.
CREATE TABLE inventory.products (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(100) NOT NULL,
  price DECIMAL(10,2) NOT NULL,
  stock INT NOT NULL DEFAULT 0
);
INSERT INTO inventory.products (name, price, stock) VALUES
  ('widget', 2.50, 100), ('gadget', 10.00, 20), ('gizmo', 7.25, 0);
