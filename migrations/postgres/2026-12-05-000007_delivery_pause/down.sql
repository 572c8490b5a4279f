DROP TABLE delivery_pause;
