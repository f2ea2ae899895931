// The web mailbox's map: where a tile server is configured, a click on the map fills the latitude and
// longitude fields (which stay visible, and are all there is without JavaScript or without tiles).
import L from "leaflet";
import "leaflet/dist/leaflet.css";
import "./mailbox.css";

//: Where the map opens when no point is chosen yet: the city hall (Taoyuan).
const CITY = [24.9936, 121.301];

function number(input) {
  const value = parseFloat(input.value);
  return Number.isFinite(value) ? value : null;
}

window.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("map");
  const lat = document.getElementById("latitude");
  const lon = document.getElementById("longitude");
  if (!box || !box.dataset.tiles || !lat || !lon) return;
  const chosen = number(lat) !== null && number(lon) !== null ? [number(lat), number(lon)] : null;
  const map = L.map(box).setView(chosen || CITY, chosen ? 17 : 12);
  L.tileLayer(box.dataset.tiles, { maxZoom: 19 }).addTo(map);
  let marker = chosen ? L.circleMarker(chosen, { radius: 9 }).addTo(map) : null;
  const place = (point) => {
    if (marker) marker.setLatLng(point);
    else marker = L.circleMarker(point, { radius: 9 }).addTo(map);
  };
  map.on("click", (event) => {
    place(event.latlng);
    lat.value = event.latlng.lat.toFixed(6);
    lon.value = event.latlng.lng.toFixed(6);
  });
  const typed = () => {
    if (number(lat) === null || number(lon) === null) return;
    const point = [number(lat), number(lon)];
    place(point);
    map.setView(point, Math.max(map.getZoom(), 16));
  };
  lat.addEventListener("change", typed);
  lon.addEventListener("change", typed);
});
